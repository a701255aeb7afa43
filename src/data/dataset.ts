/**
 * Opening a training dataset: a ZIP or a folder of images with an optional dataset.json, as written by
 * createDataset or by stylegan2-ada-pytorch's dataset_tool (any image names are accepted, like its
 * ImageFolderDataset; they are taken in sorted order).
 *
 * A dataset is valid when every image is gray or RGB (no alpha) and all share one square, power-of-two size
 * (≥ 4) and one channel count; with labels, every image must have an integer class label. By default every
 * image header is checked when the dataset is opened (PNG headers are read without decoding), and a
 * DatasetError names the offending files.
 */
import { openArchive, type ImageArchive } from './archive.js';
import { decodeImage, headerNeedsWholeFile, readImageHeader, type ImageHeader } from './decode.js';
import { DATASET_JSON, classCounts, parseDatasetJson } from './labels.js';
import { hwcToChw } from './pixels.js';
import { forEachInOrder } from './pool.js';
import { DatasetError, listProblems, problemFromError, type ImageProblem } from './problems.js';
import { isValidResolution } from './resolution.js';
import { datasetBytesBudget, imageFileBudget, MAX_DATASET_BYTES, MAX_JSON_BYTES } from '../io/limits.js';

export interface DatasetInfo {
  path: string;
  kind: 'zip' | 'folder';
  /** Number of images. */
  count: number;
  /** Width = height of every image. */
  resolution: number;
  channels: 1 | 3;
  /** Whether the images have class labels. */
  labelled: boolean;
  /** Number of classes (largest label + 1), 0 when unlabelled. */
  numClasses: number;
  /** Images per class, indexed by class. */
  classCounts: number[];
}

export interface OpenDatasetOptions {
  /** Check the header of every image (`all`, default) or only the first one (`first`, faster for huge sets). */
  validate?: 'all' | 'first';
}

/** Bytes read for a header: enough for a PNG's IHDR. */
const HEADER_BYTES = 33;

async function readHeader(archive: ImageArchive, name: string): Promise<ImageHeader> {
  const head = await archive.readHead(name, HEADER_BYTES);
  return readImageHeader(headerNeedsWholeFile(head) ? await archive.read(name) : head, name);
}

/**
 * Throws when the image entries of a ZIP dataset claim to unpack to more than `limit` bytes (`what` says why that
 * many): checked on the central directory, before anything is inflated, so that a zip bomb is refused when the
 * dataset is opened rather than hours into training.
 */
function checkImageBytes(archive: ImageArchive, limit: number, what: string): void {
  if (archive.imageBytes !== null && archive.imageBytes > limit) {
    throw new Error(
      `${archive.path}: its ${archive.imageNames.length} image entries claim to unpack to ${archive.imageBytes} bytes, ` +
        `more than the ${limit} ${what} (a zip bomb, or unpack it into a folder)`,
    );
  }
}

/** Why an image header cannot be a dataset image on its own, or null. */
function headerProblem(h: ImageHeader): string | null {
  if (h.channels === 2 || h.channels === 4) {
    return 'has an alpha channel; dataset images must be gray or RGB (createDataset composites alpha over a background)';
  }
  if (h.width !== h.height) return `is ${h.width}x${h.height}, not square`;
  if (!isValidResolution(h.width)) return `is ${h.width}x${h.height}; the size must be a power of two ≥ 4`;
  return null;
}

export class Dataset {
  /** Relative paths of the images, sorted. */
  readonly names: readonly string[];
  /** Class label per image, or null. */
  readonly labels: Int32Array | null;
  readonly resolution: number;
  readonly channels: 1 | 3;

  private constructor(
    private readonly archive: ImageArchive,
    contents: { names: readonly string[]; labels: Int32Array | null; resolution: number; channels: 1 | 3 },
  ) {
    this.names = contents.names;
    this.labels = contents.labels;
    this.resolution = contents.resolution;
    this.channels = contents.channels;
  }

  /** Opens and validates a dataset (see the module comment). */
  static async open(path: string, options: OpenDatasetOptions = {}): Promise<Dataset> {
    const archive = await openArchive(path);
    try {
      const names = archive.imageNames;
      if (names.length === 0) throw new Error(`${path}: contains no images (PNG, JPEG or WebP)`);
      checkImageBytes(archive, MAX_DATASET_BYTES, 'a ZIP dataset may hold');
      const problems: ImageProblem[] = [];
      let reference: (ImageHeader & { name: string }) | null = null;
      const checked = options.validate === 'first' ? 1 : names.length;
      await forEachInOrder(
        { count: checked, limit: 16 },
        (i) => readHeader(archive, names[i]),
        (i, outcome) => {
          const name = names[i];
          if (!outcome.ok) return void problems.push(problemFromError(name, outcome.error));
          const header = outcome.value;
          const own = headerProblem(header);
          if (own) return void problems.push({ name, reason: own });
          if (!reference) reference = { ...header, name };
          else if (header.width !== reference.width || header.channels !== reference.channels) {
            problems.push({
              name,
              reason:
                `is ${header.width}x${header.height} with ${header.channels} channel(s), but ${reference.name} is ` +
                `${reference.width}x${reference.height} with ${reference.channels}; all images must match`,
            });
          }
        },
      );
      let labels: Int32Array | null = null;
      if (await archive.has(DATASET_JSON)) {
        const table = parseDatasetJson(new TextDecoder().decode(await archive.read(DATASET_JSON, MAX_JSON_BYTES)), `${path}/${DATASET_JSON}`);
        if (table) {
          labels = new Int32Array(names.length);
          names.forEach((name, i) => {
            const label = table.get(name);
            if (label === undefined) problems.push({ name, reason: `has no label in ${DATASET_JSON}` });
            else labels![i] = label;
          });
        }
      }
      if (problems.length > 0 || !reference) {
        throw new DatasetError(`${path}: ${problems.length} of ${names.length} images are not valid:\n${listProblems(problems)}`, problems);
      }
      const { width, channels } = reference as ImageHeader;
      checkImageBytes(archive, datasetBytesBudget(width, channels, names.length), `${names.length} images of ${width}x${width} with ${channels} channel(s) may take`);
      return new Dataset(archive, { names, labels, resolution: width, channels: channels as 1 | 3 });
    } catch (err) {
      await archive.close();
      throw err;
    }
  }

  get path(): string {
    return this.archive.path;
  }

  get count(): number {
    return this.names.length;
  }

  /** Bytes of one image in CHW layout. */
  get imageBytes(): number {
    return this.channels * this.resolution * this.resolution;
  }

  get info(): DatasetInfo {
    const counts = this.labels ? classCounts(this.labels) : [];
    return {
      path: this.path,
      kind: this.archive.kind,
      count: this.count,
      resolution: this.resolution,
      channels: this.channels,
      labelled: this.labels !== null,
      numClasses: counts.length,
      classCounts: counts,
    };
  }

  /** Decodes image `index` into `dst` at `offset`, CHW ([C, R, R]). Errors name the file. */
  async readImageInto(index: number, dst: Uint8Array, offset = 0): Promise<void> {
    const name = this.names[index];
    if (name === undefined) throw new RangeError(`${this.path}: image index ${index} out of range (0 … ${this.count - 1})`);
    const image = await decodeImage(await this.archive.read(name, imageFileBudget(this.resolution, this.channels)), name);
    if (image.width !== this.resolution || image.height !== this.resolution || image.channels !== this.channels) {
      throw new Error(
        `${name}: decodes to ${image.width}x${image.height} with ${image.channels} channel(s); ` +
          `the dataset is ${this.resolution}x${this.resolution} with ${this.channels}`,
      );
    }
    hwcToChw(image, dst, offset);
  }

  /** Decodes image `index` as a new [C, R, R] array. */
  async readImage(index: number): Promise<Uint8Array> {
    const out = new Uint8Array(this.imageBytes);
    await this.readImageInto(index, out);
    return out;
  }

  close(): Promise<void> {
    return this.archive.close();
  }
}

/** Opens a dataset folder or ZIP (see `Dataset.open`). */
export function openDataset(path: string, options?: OpenDatasetOptions): Promise<Dataset> {
  return Dataset.open(path, options);
}

/** Count, resolution, channels and labels of a dataset (opened and closed again when given a path). */
export async function datasetInfo(dataset: string | Dataset, options?: OpenDatasetOptions): Promise<DatasetInfo> {
  if (typeof dataset !== 'string') return dataset.info;
  const opened = await openDataset(dataset, options);
  try {
    return opened.info;
  } finally {
    await opened.close();
  }
}
