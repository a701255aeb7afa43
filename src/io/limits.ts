/**
 * Bounds on what an input file may make us build. Files come from the internet: a small file can describe a huge
 * or endlessly nested structure (shared references expand a 79 KB pickle into billions of values; a cycle never
 * ends). Readers check these bounds before they build, so that a hostile file ends in a one-line error naming it,
 * in bounded time and memory.
 */

/** Values (containers and leaves, each shared reference counted every time it is reached) one conversion may visit. */
export const MAX_EXPANDED_VALUES = 100_000;
/** Nesting depth of converted values (static kwargs, module attributes, JSON metadata). */
export const MAX_NESTING = 64;

/**
 * Counts the values a recursive conversion visits and the depth it reaches, and throws
 * `<where>: <what> … too large / too deeply nested` when either passes its bound.
 */
export class ExpansionBudget {
  private visited = 0;
  private readonly maxValues: number;
  private readonly maxDepth: number;

  constructor(
    private readonly where: string,
    private readonly what: string,
    { maxValues = MAX_EXPANDED_VALUES, maxDepth = MAX_NESTING }: { maxValues?: number; maxDepth?: number } = {},
  ) {
    this.maxValues = maxValues;
    this.maxDepth = maxDepth;
  }

  /** Called once per value reached at `depth` (0 for the root). */
  visit(depth: number): void {
    if (depth > this.maxDepth) {
      throw new Error(`${this.where}: ${this.what} nest more than ${this.maxDepth} levels deep (a cycle or a depth bomb)`);
    }
    if (++this.visited > this.maxValues) {
      throw new Error(`${this.where}: ${this.what} expand to more than ${this.maxValues} values (shared references or an expansion bomb)`);
    }
  }
}

/** Bytes one archive entry may inflate to (an 8192² 16-bit RGBA PNG stored raw is 512 MiB). */
export const MAX_ENTRY_BYTES = 2 ** 29 + 2 ** 20;
/** Bytes a dataset.json may have (70,000 labels take ~3 MB). */
export const MAX_JSON_BYTES = 2 ** 28;
/** Pixels an image may declare in its header (8192²: the largest dataset resolution; sharp's own limit is 16383²). */
export const MAX_IMAGE_PIXELS = 2 ** 26;

/**
 * Bytes an image file of a dataset at `resolution` with `channels` may take: its pixels stored without
 * compression, with PNG's filter bytes and room for metadata chunks (colour profiles, text) of up to 1 MiB.
 */
export function imageFileBudget(resolution: number, channels: number): number {
  return resolution * (resolution * channels * 2 + 1) + 2 ** 20;
}

/** Bytes the image entries of one ZIP dataset may unpack to, whatever their sizes (1 TiB; FFHQ at 1024² is 89 GB). */
export const MAX_DATASET_BYTES = 2 ** 40;

/**
 * Bytes the `count` image entries of a ZIP dataset at `resolution` with `channels` may unpack to together: each
 * image's budget (`imageFileBudget`) times their number, and never more than MAX_DATASET_BYTES.
 */
export function datasetBytesBudget(resolution: number, channels: number, count: number): number {
  return Math.min(count * imageFileBudget(resolution, channels), MAX_DATASET_BYTES);
}

/** Throws `<name>: declares W×H pixels …` for an image header beyond MAX_IMAGE_PIXELS. */
export function checkImageSize(width: number, height: number, name: string): void {
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new Error(`${name}: declares ${width}x${height} pixels, more than the ${MAX_IMAGE_PIXELS} an image may have (8192x8192)`);
  }
}

/** Class labels are below this (a conditional network holds a one-hot input and an embedding row per class). */
export const MAX_CLASSES = 65536;

/** Whether a parsed JSON value nests deeper than `max` levels (checked without recursion). */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}
