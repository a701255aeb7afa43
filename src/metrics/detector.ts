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
import { existsSync } from 'node:fs';
import { join } from 'node:path';
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

/**
 * Where a detector is looked for, and whether it is there: `o.file`, else its official name in the detector folder.
 * Never throws: commands that can do without the detector (a projection falls back to MSE) ask this.
 */
export function findDetector(kind: DetectorKind, o: DetectorLocation = {}): { file: string; found: boolean } {
  const file = o.file ?? join(o.dir ?? defaultDetectorDir(), DETECTOR_FILES[kind]);
  return { file, found: existsSync(file) };
}

/** The file of a detector; a missing file is an error saying which file and where NVIDIA publishes it. */
export function detectorPath(kind: DetectorKind, o: DetectorLocation = {}): string {
  const { file, found } = findDetector(kind, o);
  if (found) return file;
  if (o.file !== undefined) throw new Error(`${file}: no such detector file`);
  throw new Error(`${file}: detector file missing; download ${DETECTOR_URL_BASE}${DETECTOR_FILES[kind]} into ${o.dir ?? defaultDetectorDir()} ` +
    `(or point --detector-dir / $${DETECTOR_ENV} at the folder holding it)`);
}

/** A loaded detector: the TorchScript network with the keyword arguments of one use. */
export { ScriptedNetwork as Detector, fileSha256 } from '../nn/scripted.js';
