/**
 * Image sources for dataset creation: a folder of images (recursive), a ZIP of images, or an IDX file
 * (MNIST / Fashion-MNIST, optionally gzip-compressed).
 *
 * Labels, chosen by `labels`:
 * - `auto` (default): the source's dataset.json if it has one; for IDX, the matching label file if it exists
 *   (`…-images-idx3-…` → `…-labels-idx1-…` beside it, or `idxLabels`); otherwise unlabelled.
 * - `json`: the source's dataset.json (required); an image it does not list is a problem.
 * - `folders`: the top-level sub-folder name, as an index into the sorted folder names; an image at the root is
 *   a problem.
 * - `none`: unlabelled.
 */
import { access, open, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { looksLikeZip, openArchive, type ImageArchive } from './archive.js';
import { decodeImage } from './decode.js';
import { isGzip, looksLikeIdx, readIdx, type IdxArray } from './idx.js';
import { DATASET_JSON, folderClassNames, parseDatasetJson, topFolder } from './labels.js';
import type { Pixels } from './pixels.js';
import { MAX_CLASSES, MAX_JSON_BYTES } from '../io/limits.js';

export type LabelSource = 'auto' | 'none' | 'json' | 'folders';

export interface SourceOptions {
  labels?: LabelSource;
  /** The IDX label file for an IDX image source (default: found beside it by name). */
  idxLabels?: string;
}

export interface SourceItem {
  /** Relative path in a folder / ZIP, or `file[index]` for IDX. */
  name: string;
  label: number | null;
  /** Why the item cannot be used, when that is known before decoding (e.g. a missing label). */
  problem?: string;
}

export interface ImageSource {
  readonly path: string;
  readonly kind: 'folder' | 'zip' | 'idx';
  readonly items: readonly SourceItem[];
  /** Where the labels come from; `none` for an unlabelled source. */
  readonly labelSource: 'none' | 'json' | 'folders' | 'idx';
  /** Class names, for folder labels. */
  readonly classNames: readonly string[] | null;
  /** Decoded pixels of item `index` (errors name the item). */
  load(index: number): Promise<Pixels>;
  close(): Promise<void>;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

class ArchiveSource implements ImageSource {
  readonly labelSource: 'none' | 'json' | 'folders';
  readonly classNames: readonly string[] | null;

  constructor(
    private readonly archive: ImageArchive,
    readonly items: readonly SourceItem[],
    labels: { labelSource: 'none' | 'json' | 'folders'; classNames: readonly string[] | null },
  ) {
    this.labelSource = labels.labelSource;
    this.classNames = labels.classNames;
  }

  get path(): string {
    return this.archive.path;
  }
  get kind(): 'folder' | 'zip' {
    return this.archive.kind;
  }

  async load(index: number): Promise<Pixels> {
    const name = this.items[index].name;
    return decodeImage(await this.archive.read(name), name);
  }

  close(): Promise<void> {
    return this.archive.close();
  }
}

async function openArchiveSource(path: string, labels: LabelSource): Promise<ImageSource> {
  const archive = await openArchive(path);
  try {
    const names = archive.imageNames;
    if (names.length === 0) throw new Error(`${path}: contains no images (PNG, JPEG or WebP)`);
    let mode = labels;
    if (mode === 'auto') mode = (await archive.has(DATASET_JSON)) ? 'json' : 'none';
    if (mode === 'json') {
      if (!(await archive.has(DATASET_JSON))) throw new Error(`${path}: has no ${DATASET_JSON} to take labels from`);
      const where = `${path}/${DATASET_JSON}`;
      const table = parseDatasetJson(new TextDecoder().decode(await archive.read(DATASET_JSON, MAX_JSON_BYTES)), where);
      if (table === null) return new ArchiveSource(archive, names.map((name) => ({ name, label: null })), { labelSource: 'none', classNames: null });
      const items = names.map((name): SourceItem => {
        const label = table.get(name);
        return label === undefined ? { name, label: null, problem: `no label in ${DATASET_JSON}` } : { name, label };
      });
      return new ArchiveSource(archive, items, { labelSource: 'json', classNames: null });
    }
    if (mode === 'folders') {
      const classNames = folderClassNames(names);
      const items = names.map((name): SourceItem => {
        const folder = topFolder(name);
        return folder === null
          ? { name, label: null, problem: 'is not inside a class sub-folder (labels from folder names)' }
          : { name, label: classNames.indexOf(folder) };
      });
      return new ArchiveSource(archive, items, { labelSource: 'folders', classNames });
    }
    return new ArchiveSource(archive, names.map((name) => ({ name, label: null })), { labelSource: 'none', classNames: null });
  } catch (err) {
    await archive.close();
    throw err;
  }
}

/** The label file that goes with an IDX image file, by the MNIST naming convention, if it exists. */
async function findIdxLabels(imagesPath: string): Promise<string | null> {
  const name = basename(imagesPath);
  if (!name.includes('images-idx3')) return null;
  const base = name.replace('images-idx3', 'labels-idx1').replace(/\.gz$/, '');
  for (const candidate of [base, `${base}.gz`]) {
    const path = join(dirname(imagesPath), candidate);
    if (await exists(path)) return path;
  }
  return null;
}

function idxImageLayout(images: IdxArray, path: string): { count: number; height: number; width: number; channels: number } {
  if (images.dtype !== 'uint8') throw new Error(`${path}: IDX images must be uint8, got ${images.dtype}`);
  const [count, height, width, channels = 1] = images.shape;
  if ((images.shape.length !== 3 && images.shape.length !== 4) || (channels !== 1 && channels !== 3)) {
    throw new Error(`${path}: IDX images must have shape [N, H, W] or [N, H, W, 1|3], got [${images.shape.join(', ')}]`);
  }
  return { count, height, width, channels };
}

async function openIdxSource(path: string, options: SourceOptions): Promise<ImageSource> {
  const labels = options.labels ?? 'auto';
  if (labels === 'json' || labels === 'folders') {
    throw new Error(`${path}: labels from ${labels === 'json' ? DATASET_JSON : 'folder names'} need a folder or ZIP source`);
  }
  const images = await readIdx(path);
  const { count, height, width, channels } = idxImageLayout(images, path);
  if (count === 0) throw new Error(`${path}: contains no images`);
  const labelsPath = labels === 'none' ? null : (options.idxLabels ?? (await findIdxLabels(path)));
  let labelValues: ArrayLike<number> | null = null;
  if (labelsPath !== null) {
    const file = await readIdx(labelsPath);
    if (file.dtype === 'float32' || file.dtype === 'float64' || file.shape.length !== 1) {
      throw new Error(`${labelsPath}: IDX labels must be integers of shape [N], got ${file.dtype} [${file.shape.join(', ')}]`);
    }
    if (file.shape[0] !== count) {
      throw new Error(`${labelsPath}: has ${file.shape[0]} labels but ${path} has ${count} images`);
    }
    const negative = Array.prototype.findIndex.call(file.data, (v: number) => v < 0);
    if (negative >= 0) throw new Error(`${labelsPath}: label ${negative} is negative (${file.data[negative]})`);
    const huge = Array.prototype.findIndex.call(file.data, (v: number) => v >= MAX_CLASSES);
    if (huge >= 0) throw new Error(`${labelsPath}: label ${huge} is ${file.data[huge]}; class indices must be below ${MAX_CLASSES}`);
    labelValues = file.data;
  }
  const file = basename(path);
  const items = Array.from({ length: count }, (_, i) => ({ name: `${file}[${i}]`, label: labelValues ? labelValues[i] : null }));
  const imageBytes = height * width * channels;
  const data = images.data as Uint8Array;
  return {
    path,
    kind: 'idx',
    items,
    labelSource: labelValues ? 'idx' : 'none',
    classNames: null,
    load: async (index) => ({ width, height, channels, data: data.subarray(index * imageBytes, (index + 1) * imageBytes) }),
    close: async () => {},
  };
}

/** Opens a folder, ZIP archive or IDX file as an image source. */
export async function openSource(path: string, options: SourceOptions = {}): Promise<ImageSource> {
  const reason = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  const info = await stat(path).catch((err: unknown) => {
    throw new Error(`${path}: cannot open source (${reason(err)})`);
  });
  const isFolder = info.isDirectory();
  let head = new Uint8Array(8);
  if (!isFolder) {
    const file = await open(path, 'r').catch((err: unknown) => {
      throw new Error(`${path}: cannot open source (${reason(err)})`);
    });
    try {
      head = head.subarray(0, (await file.read(head, 0, 8, 0)).bytesRead);
    } finally {
      await file.close();
    }
  }
  if (isFolder || looksLikeZip(head)) {
    if (options.idxLabels !== undefined) throw new Error(`${path}: idxLabels applies to IDX sources only`);
    return openArchiveSource(path, options.labels ?? 'auto');
  }
  if (isGzip(head) || looksLikeIdx(head)) return openIdxSource(path, options);
  throw new Error(`${path}: not a folder, ZIP archive or IDX file`);
}
