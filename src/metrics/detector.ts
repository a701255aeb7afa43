/**
 * NVIDIA's metric detector networks, as TorchScript files the user downloads once:
 *
 *   inception-2015-12-05.pt   FID, KID, IS      detector(img_uint8_NCHW, return_features=True) → [N, 2048]
 *   vgg16.pt                  precision/recall  detector(img, return_features=True) → [N, 4096]
 *                             PPL, projection   detector(img_0_255, resize_images=False, return_lpips=True)
 *
 * Both are published at https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/. The folder
 * holding them is `--detector-dir`, else $STYLEGAN_DETECTORS, else `<cache>/detectors` (the cache folder of
 * fid-fmnist). Any TorchScript file with the same call signature can stand in (`--detector FILE`).
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../engine/index.js';
import type { Tensor, JitKwargs, JitModule } from '../engine/index.js';
import { defaultCacheDir } from './fid-fmnist.js';

export type DetectorKind = 'inception' | 'vgg16';

export const DETECTOR_URL_BASE = 'https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/';
/** Official file names. */
export const DETECTOR_FILES: Record<DetectorKind, string> = { inception: 'inception-2015-12-05.pt', vgg16: 'vgg16.pt' };
/** Environment variable naming the detector folder. */
export const DETECTOR_ENV = 'STYLEGAN_DETECTORS';

export interface DetectorLocation {
  /** Folder of the official files (default: $STYLEGAN_DETECTORS, else <cache>/detectors). */
  dir?: string;
  /** An explicit file, used instead of the official one. */
  file?: string;
}

export const defaultDetectorDir = (): string => process.env[DETECTOR_ENV] || join(defaultCacheDir(), 'detectors');

/** The file of a detector; a missing file is an error saying which file and where NVIDIA publishes it. */
export function detectorPath(kind: DetectorKind, o: DetectorLocation = {}): string {
  if (o.file !== undefined) {
    if (!existsSync(o.file)) throw new Error(`${o.file}: no such detector file`);
    return o.file;
  }
  const dir = o.dir ?? defaultDetectorDir();
  const file = join(dir, DETECTOR_FILES[kind]);
  if (!existsSync(file)) {
    throw new Error(`${file}: detector file missing; download ${DETECTOR_URL_BASE}${DETECTOR_FILES[kind]} into ${dir} ` +
      `(or point --detector-dir / $${DETECTOR_ENV} at the folder holding it)`);
  }
  return file;
}

/** SHA-256 of a file's bytes (streamed). */
export async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** A loaded detector with the keyword arguments of one use (e.g. `{ return_features: true }`). */
export class Detector {
  #sha: Promise<string> | undefined;
  private constructor(readonly module: JitModule, readonly path: string, readonly kwargs: JitKwargs) {}

  /** Loads a detector; its parameters are frozen (gradients still flow to its input, as projection needs). */
  static load(path: string, kwargs: JitKwargs, device = 'cpu'): Detector {
    const module = E.jit.load(path, { device });
    E.tidy(() => {
      for (const p of module.parameters()) p.requiresGrad_(false);
    });
    return new Detector(module, path, kwargs);
  }

  /** A view of the same module called with other keyword arguments (shares the module: dispose only one). */
  with(kwargs: JitKwargs): Detector {
    return new Detector(this.module, this.path, kwargs);
  }

  get device(): string {
    return this.module.device;
  }

  /** Content hash of the file (cache keys). */
  sha256(): Promise<string> {
    return (this.#sha ??= fileSha256(this.path));
  }

  /**
   * Features of a batch of images [N, C, H, W] (uint8 0…255 as the metrics pass them, or float): gray images are
   * repeated to 3 channels first. Returns what the module returns for `kwargs`, on the detector's device.
   */
  run(images: Tensor): Tensor {
    return E.tidy(() => {
      let x = images.to(this.device);
      if (x.shape[1] === 1) x = x.repeat(1, 3, 1, 1);
      return this.module.callTensor(x, this.kwargs);
    });
  }

  dispose(): void {
    this.module.dispose();
  }
}
