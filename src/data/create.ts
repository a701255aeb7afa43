/**
 * createDataset: turns a folder / ZIP of images or an IDX file into a training dataset in stylegan2-ada-pytorch's
 * format: a ZIP (or a folder) of PNGs named `00000/img00000000.png`, `00000/img00000001.png`, … (the first five
 * of the eight index digits name the folder) and a `dataset.json` with `{"labels": [[name, class], ...]}` or
 * `{"labels": null}`. stylegan2-ada-pytorch, StyleGAN3 and this project's loader read it as is.
 *
 * Each image goes through, in this order:
 * 1. alpha: transparent pixels are composited over black (default) or white (`background`);
 * 2. channels: the dataset is gray (1) or RGB (3). By default it takes the first image's kind (gray files,
 *    with or without alpha, give 1); a later colour image in a gray dataset is a problem, while a later gray
 *    image in an RGB dataset is repeated into R, G, B. With `channels` given, every image is converted
 *    (RGB → gray is BT.601 luma, see pixels.ts);
 * 3. crop (`transform`): `none` requires square images; `center-crop` takes the largest centered square;
 *    `center-crop-wide` takes the largest centered 2:1 rectangle, scales it to R × R/2 and centers it on an
 *    R × R canvas of the background colour (the letterboxed layout of StyleGAN's LSUN-car datasets);
 * 4. resize to the power-of-two resolution R with `resizeFilter` (lanczos, the default, or box; see
 *    resample.ts). Sources smaller than R are scaled up the same way: Fashion-MNIST's 28×28 images become
 *    32×32 by a Lanczos resize. (stylegan2-ada-pytorch's MNIST path pads with 2 black pixels instead.)
 *
 * Without `resolution`, R is the (cropped) size of the first image, which must then be a power of two.
 * Problems with single images (unreadable, corrupt, not square, missing label, …) are collected. With
 * `onError: 'fail'` (default) nothing is written and a DatasetError lists the first few files by name; with
 * `'skip'` the bad images are left out and reported in the result.
 */
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { makeDirectory } from '../io/atomic.js';
import { ZipWriter } from '../io/zip.js';
import { formatDatasetJson, DATASET_JSON } from './labels.js';
import {
  centerCropBox, compositeAlpha, convertChannels, crop, isGrayContent, placeOnCanvas, type Background, type Pixels,
} from './pixels.js';
import { encodePng } from './png.js';
import { forEachInOrder } from './pool.js';
import { DatasetError, listProblems, problemFromError, type ImageProblem } from './problems.js';
import { resize, type ResizeFilter } from './resample.js';
import { MAX_RESOLUTION, MIN_RESOLUTION, isValidResolution } from './resolution.js';
import { openSource, type ImageSource, type SourceOptions } from './source.js';

export type CropTransform = 'none' | 'center-crop' | 'center-crop-wide';

/** How error messages name the options a user can change: the library's names, or a command line's flags. */
export interface OptionSpelling {
  skipBad: string;
  transform(value: CropTransform): string;
  channels(value: 1 | 3): string;
  resolution: string;
}

export const LIBRARY_SPELLING: OptionSpelling = {
  skipBad: "onError: 'skip'",
  transform: (value) => `transform '${value}'`,
  channels: (value) => `channels: ${value}`,
  resolution: 'resolution',
};

export interface CreateProgress {
  /** Source images handled so far, of `total`. */
  done: number;
  total: number;
  written: number;
  /** Images with problems so far. */
  failed: number;
  /** The image just handled. */
  name: string;
}

export interface CreateDatasetOptions extends SourceOptions {
  /** Folder, ZIP or IDX file to read. */
  source: string;
  /** Output: a `.zip` file, or else a folder. Must not exist yet (an empty folder is fine). */
  dest: string;
  /** Output resolution, a power of two ≥ 4. Default: the first image's (cropped) size. */
  resolution?: number;
  /** 1 (gray) or 3 (RGB). Default: from the first image (see the module comment). */
  channels?: 1 | 3;
  transform?: CropTransform;
  resizeFilter?: ResizeFilter;
  /** What alpha is composited over, and the colour of the wide crop's bars. Default black. */
  background?: Background;
  /** Use only the first N source images (in sorted order). */
  maxImages?: number;
  onError?: 'fail' | 'skip';
  onProgress?: (progress: CreateProgress) => void;
  /** zlib level of the PNGs, 0 … 9 (default 6). */
  compressionLevel?: number;
  /** Images processed at once (default 4). */
  concurrency?: number;
  /** How messages name the options (default LIBRARY_SPELLING). */
  spelling?: OptionSpelling;
}

export interface CreatedDataset {
  dest: string;
  kind: 'zip' | 'folder';
  count: number;
  resolution: number;
  channels: 1 | 3;
  /** Whether dataset.json has labels. */
  labelled: boolean;
  /** Class names when the labels came from folder names. */
  classNames: readonly string[] | null;
  /** Images left out (`onError: 'skip'`). */
  skipped: readonly ImageProblem[];
}

/** The first five and all eight digits of the index: `00012/img00012345.png`, as stylegan2-ada-pytorch names them. */
export function datasetImageName(index: number): string {
  const digits = String(index).padStart(8, '0');
  return `${digits.slice(0, 5)}/img${digits}.png`;
}

/** What every output image is made into. */
interface Geometry {
  resolution: number;
  channels: 1 | 3;
  /** Channels came from the first image (then a colour image in a gray dataset is a problem). */
  channelsInferred: boolean;
  /** The image the inferred values came from. */
  firstName: string;
}

interface Settings {
  spelling: OptionSpelling;
  transform: CropTransform;
  resizeFilter: ResizeFilter;
  background: Background;
}

function naturalChannels(image: Pixels): 1 | 3 {
  return image.channels <= 2 ? 1 : 3;
}

/** The crop that `transform` takes of an image; throws for a non-square image under `none`. */
function cropFor(image: Pixels, transform: CropTransform, spelling: OptionSpelling): Pixels {
  if (transform === 'none') {
    if (image.width !== image.height) {
      throw new Error(`is ${image.width}x${image.height}, not square (use ${spelling.transform('center-crop')} or ${spelling.transform('center-crop-wide')})`);
    }
    return image;
  }
  return crop(image, centerCropBox(image.width, image.height, transform === 'center-crop' ? 'square' : 'wide'));
}

/** Steps 1–4 of the module comment. Throws a message (without the name) for a problem. */
function prepareImage(decoded: Pixels, geometry: Geometry, settings: Settings): Pixels {
  let image = compositeAlpha(decoded, settings.background);
  if (geometry.channels === 1 && image.channels === 3 && geometry.channelsInferred && !isGrayContent(image)) {
    throw new Error(
      `is a colour image, but the dataset is grayscale like its first image ${geometry.firstName} ` +
        `(pass ${settings.spelling.channels(3)} to make an RGB dataset, or ${settings.spelling.channels(1)} to convert every image to gray)`,
    );
  }
  image = convertChannels(image, geometry.channels);
  image = cropFor(image, settings.transform, settings.spelling);
  const size = geometry.resolution;
  if (settings.transform === 'center-crop-wide') {
    image = resize(image, { width: size, height: size / 2, filter: settings.resizeFilter });
    return placeOnCanvas(image, { size, top: size / 4, background: settings.background });
  }
  return resize(image, { width: size, height: size, filter: settings.resizeFilter });
}

/** Resolution and channels from the options, or else from the first image that can be decoded. */
async function resolveGeometry(source: ImageSource, { total, options, settings }: { total: number; options: CreateDatasetOptions; settings: Settings }): Promise<Geometry> {
  if (options.resolution !== undefined && options.channels !== undefined) {
    return { resolution: options.resolution, channels: options.channels, channelsInferred: false, firstName: '' };
  }
  for (let i = 0; i < total; i++) {
    const item = source.items[i];
    if (item.problem) continue;
    let image: Pixels;
    try {
      image = await source.load(i);
    } catch {
      continue; // reported when the image's turn comes
    }
    let resolution = options.resolution;
    if (resolution === undefined) {
      let cropped: Pixels;
      try {
        cropped = cropFor(image, settings.transform, settings.spelling);
      } catch (err) {
        throw new Error(`createDataset: cannot infer the resolution from the first image ${item.name}: it ${(err as Error).message}; or pass ${settings.spelling.resolution}`);
      }
      resolution = cropped.width;
      if (!isValidResolution(resolution)) {
        throw new Error(
          `createDataset: cannot infer the resolution from the first image ${item.name}: its size ${cropped.width}x${cropped.height} ` +
            `is not a power of two ≥ 4; pass ${settings.spelling.resolution} (e.g. ${Math.max(MIN_RESOLUTION, 2 ** Math.round(Math.log2(cropped.width)))})`,
        );
      }
    }
    return {
      resolution,
      channels: options.channels ?? naturalChannels(image),
      channelsInferred: options.channels === undefined,
      firstName: item.name,
    };
  }
  // Nothing decodes: any geometry will do, the run fails with the per-image problems.
  return { resolution: options.resolution ?? MIN_RESOLUTION, channels: options.channels ?? 3, channelsInferred: false, firstName: '' };
}

/** Where images go: a ZIP or a folder, written under a temporary name and renamed when complete. */
interface DatasetOutput {
  add(name: string, data: Uint8Array): Promise<void>;
  finish(): Promise<void>;
  abort(): Promise<void>;
}

/** A system error of the output (full disk, read-only file system, …) as `<dest>: cannot write (<reason>)`. */
async function naming<T>(dest: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (e) {
    if (!(e as NodeJS.ErrnoException).code) throw e;
    throw new Error(`${dest}: cannot write (${(e as Error).message.replace(/, \w+ '.*'$/, '')})`, { cause: e });
  }
}

/** `createOutput` with every write failure naming `dest`. */
async function openOutput(dest: string, kind: 'zip' | 'folder'): Promise<DatasetOutput> {
  const out = await naming(dest, () => createOutput(dest, kind));
  return {
    add: (name, data) => naming(dest, () => out.add(name, data)),
    finish: () => naming(dest, () => out.finish()),
    abort: () => out.abort(),
  };
}

async function createOutput(dest: string, kind: 'zip' | 'folder'): Promise<DatasetOutput> {
  const existing = await stat(dest).catch(() => null);
  if (existing && (kind === 'zip' || !existing.isDirectory() || (await readdir(dest)).length > 0)) {
    throw new Error(`createDataset: ${dest} already exists${kind === 'folder' && existing.isDirectory() ? ' and is not empty' : ''}`);
  }
  const partial = `${dest}.partial-${process.pid}`;
  makeDirectory(dirname(dest));
  if (kind === 'zip') {
    const zip = await ZipWriter.create(partial);
    return {
      add: (name, data) => zip.add(name, data),
      finish: async () => {
        await zip.close();
        await rename(partial, dest);
      },
      abort: async () => {
        await zip.abort();
        await rm(partial, { force: true });
      },
    };
  }
  await mkdir(partial);
  const folders = new Set<string>();
  return {
    add: async (name, data) => {
      const folder = dirname(name);
      if (folder !== '.' && !folders.has(folder)) {
        await mkdir(join(partial, folder), { recursive: true });
        folders.add(folder);
      }
      await writeFile(join(partial, name), data);
    },
    finish: async () => {
      if (existing) await rm(dest, { recursive: true });
      await rename(partial, dest);
    },
    abort: () => rm(partial, { recursive: true, force: true }),
  };
}

function checkOptions(options: CreateDatasetOptions): void {
  const { resolution, channels, maxImages, compressionLevel, concurrency } = options;
  if (resolution !== undefined && !isValidResolution(resolution)) {
    throw new Error(`createDataset: resolution must be a power of two from ${MIN_RESOLUTION} to ${MAX_RESOLUTION}, got ${resolution}`);
  }
  if (channels !== undefined && channels !== 1 && channels !== 3) {
    throw new Error(`createDataset: channels must be 1 or 3, got ${String(channels)}`);
  }
  if (maxImages !== undefined && (!Number.isInteger(maxImages) || maxImages < 1)) {
    throw new Error(`createDataset: maxImages must be a positive integer, got ${maxImages}`);
  }
  if (compressionLevel !== undefined && (!Number.isInteger(compressionLevel) || compressionLevel < 0 || compressionLevel > 9)) {
    throw new Error(`createDataset: compressionLevel must be an integer 0 … 9, got ${compressionLevel}`);
  }
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) {
    throw new Error(`createDataset: concurrency must be a positive integer, got ${concurrency}`);
  }
  const choices: [string, unknown, readonly unknown[]][] = [
    ['transform', options.transform, ['none', 'center-crop', 'center-crop-wide']],
    ['resizeFilter', options.resizeFilter, ['lanczos', 'box']],
    ['background', options.background, ['black', 'white']],
    ['onError', options.onError, ['fail', 'skip']],
    ['labels', options.labels, ['auto', 'none', 'json', 'folders']],
  ];
  for (const [name, value, allowed] of choices) {
    if (value !== undefined && !allowed.includes(value)) {
      throw new Error(`createDataset: ${name} must be one of ${allowed.join(', ')}, got ${String(value)}`);
    }
  }
}

/** Creates a dataset; see the module comment. */
export async function createDataset(options: CreateDatasetOptions): Promise<CreatedDataset> {
  checkOptions(options);
  const settings: Settings = {
    spelling: options.spelling ?? LIBRARY_SPELLING,
    transform: options.transform ?? 'none',
    resizeFilter: options.resizeFilter ?? 'lanczos',
    background: options.background ?? 'black',
  };
  const onError = options.onError ?? 'fail';
  const kind = /\.zip$/i.test(options.dest) ? 'zip' : 'folder';
  const source = await openSource(options.source, options);
  let output: DatasetOutput | undefined;
  try {
    const sink = (output = await openOutput(options.dest, kind));
    const total = Math.min(source.items.length, options.maxImages ?? Infinity);
    const geometry = await resolveGeometry(source, { total, options, settings });
    const level = options.compressionLevel ?? 6;
    const problems: ImageProblem[] = [];
    const labels: [string, number][] = [];
    let written = 0;
    /** Once an image failed under onError 'fail', the rest are only checked, not encoded or written. */
    const doomed = (): boolean => problems.length > 0 && onError === 'fail';
    await forEachInOrder(
      { count: total, limit: options.concurrency ?? 4 },
      async (index) => {
        const item = source.items[index];
        if (item.problem) throw new Error(item.problem);
        const image = prepareImage(await source.load(index), geometry, settings);
        return doomed() ? null : encodePng(image, level);
      },
      async (index, outcome) => {
        const item = source.items[index];
        if (!outcome.ok) {
          problems.push(problemFromError(item.name, outcome.error));
        } else if (outcome.value && !doomed()) {
          const name = datasetImageName(written++);
          await sink.add(name, outcome.value);
          if (item.label !== null) labels.push([name, item.label]);
        }
        options.onProgress?.({ done: index + 1, total, written, failed: problems.length, name: item.name });
      },
    );
    if (doomed()) {
      throw new DatasetError(
        `${options.source}: ${problems.length} of ${total} images cannot be used ` +
          `(nothing was written; pass ${settings.spelling.skipBad} to leave them out):\n${listProblems(problems)}`,
        problems,
      );
    }
    if (written === 0) {
      throw new DatasetError(`${options.source}: none of the ${total} images can be used:\n${listProblems(problems)}`, problems);
    }
    const labelled = source.labelSource !== 'none';
    await sink.add(DATASET_JSON, new TextEncoder().encode(formatDatasetJson(labelled ? labels : null)));
    await sink.finish();
    output = undefined;
    return {
      dest: options.dest,
      kind,
      count: written,
      resolution: geometry.resolution,
      channels: geometry.channels,
      labelled,
      classNames: source.classNames,
      skipped: problems,
    };
  } finally {
    await output?.abort();
    await source.close();
  }
}
