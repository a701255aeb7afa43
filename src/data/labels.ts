/**
 * Class labels of a dataset.
 *
 * `dataset.json` is stylegan2-ada-pytorch's label file: `{"labels": [["00000/img00000000.png", 3], ...]}` keyed
 * by the image's relative path, or `{"labels": null}` for an unlabelled dataset. We support integer class labels
 * (the conditional-training case); stylegan2-ada-pytorch also allows float vectors, which are rejected here
 * with a clear message.
 *
 * Folder labels: an image's class is the name of the top-level sub-folder it is in; the class index is the
 * position of that name among all class-folder names sorted.
 */

import { MAX_CLASSES } from '../io/limits.js';

export const DATASET_JSON = 'dataset.json';

/**
 * Parses a dataset.json. Returns the labels by relative image path, or null for `"labels": null`.
 * `where` names the file in errors.
 */
export function parseDatasetJson(text: string, where: string): Map<string, number> | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`${where}: invalid JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || !('labels' in parsed)) {
    throw new Error(`${where}: expected an object with a "labels" key`);
  }
  const labels = (parsed as { labels: unknown }).labels;
  if (labels === null) return null;
  if (!Array.isArray(labels)) throw new Error(`${where}: "labels" must be null or a list of [filename, label] pairs`);
  const out = new Map<string, number>();
  labels.forEach((pair: unknown, i) => {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string') {
      throw new Error(`${where}: labels[${i}] must be a [filename, label] pair`);
    }
    const [name, label] = pair as [string, unknown];
    if (Array.isArray(label)) {
      throw new Error(`${where}: label of ${name} is a vector; only integer class labels are supported`);
    }
    if (typeof label !== 'number' || !Number.isInteger(label) || label < 0) {
      throw new Error(`${where}: label of ${name} must be a non-negative integer class index, got ${JSON.stringify(label)}`);
    }
    if (label >= MAX_CLASSES) throw new Error(`${where}: label of ${name} is ${label}; class indices must be below ${MAX_CLASSES}`);
    out.set(name.replace(/\\/g, '/'), label);
  });
  return out;
}

/**
 * Formats a dataset.json exactly as Python's `json.dump` writes it (", " and ": " separators), which is what
 * stylegan2-ada-pytorch's dataset_tool produces.
 */
export function formatDatasetJson(labels: readonly (readonly [string, number])[] | null): string {
  if (labels === null) return '{"labels": null}';
  return `{"labels": [${labels.map(([name, label]) => `[${JSON.stringify(name)}, ${label}]`).join(', ')}]}`;
}

/** Class names from sub-folder names: the sorted distinct top-level folders of the given relative paths. */
export function folderClassNames(names: readonly string[]): string[] {
  const classes = new Set<string>();
  for (const name of names) {
    const folder = topFolder(name);
    if (folder !== null) classes.add(folder);
  }
  return [...classes].sort(); // default sort: UTF-16 code-unit order
}

/** The top-level folder of a relative path, or null for a file at the root. */
export function topFolder(name: string): string | null {
  const slash = name.indexOf('/');
  return slash > 0 ? name.slice(0, slash) : null;
}

/** Number of classes (max label + 1) and the number of images of each class. */
export function classCounts(labels: ArrayLike<number>): number[] {
  const counts: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    while (counts.length <= label) counts.push(0);
    counts[label]++;
  }
  return counts;
}
