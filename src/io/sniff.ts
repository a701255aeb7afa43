/**
 * What a file is, told by its first bytes (never by its name): the network formats the readers take, and the
 * other formats users mix them up with, so that an error can say what the file is instead of failing deep inside
 * the wrong parser.
 */
import { open } from 'node:fs/promises';

export type FileFormat =
  | 'pickle' | 'safetensors' | 'zip' | 'torch-legacy' | 'npy' | 'png' | 'jpeg' | 'webp' | 'gzip' | 'json' | 'empty' | 'unknown';

/** Bytes `fileFormat` looks at. */
export const SNIFF_BYTES = 16;

const startsWith = (b: Uint8Array, prefix: readonly number[]): boolean => prefix.every((x, i) => b[i] === x);
const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

/** The format of a file that starts with `head` (at least SNIFF_BYTES bytes unless the file is shorter). */
export function fileFormat(head: Uint8Array): FileFormat {
  if (head.length === 0) return 'empty';
  if (head[0] === 0x80 && head[1] >= 2 && head[1] <= 5) return 'pickle';
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || startsWith(head, [0x50, 0x4b, 0x05, 0x06])) return 'zip';
  if (startsWith(head, [0x93, ...ascii('NUMPY')])) return 'npy';
  if (startsWith(head, [0x89, ...ascii('PNG')])) return 'png';
  if (startsWith(head, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(head, ascii('RIFF')) && startsWith(head.subarray(8), ascii('WEBP'))) return 'webp';
  if (startsWith(head, [0x1f, 0x8b])) return 'gzip';
  // torch.save's legacy stream starts with the pickled magic number 0x1950a86a20f9469cfc6c.
  if (startsWith(head, [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19])) return 'torch-legacy';
  if (head.length >= 9 && head[8] === 0x7b && head[6] === 0 && head[7] === 0) return 'safetensors';
  if (head[0] === 0x7b || head[0] === 0x5b) return 'json';
  return 'unknown';
}

/** How error messages name a format. */
export const FORMAT_NAMES: Record<FileFormat, string> = {
  pickle: 'a Python pickle', safetensors: 'a safetensors checkpoint', zip: 'a ZIP archive', 'torch-legacy': 'a legacy torch.save stream',
  npy: 'a numpy .npy array', png: 'a PNG image', jpeg: 'a JPEG image', webp: 'a WebP image', gzip: 'a gzip file', json: 'a JSON file',
  empty: 'empty', unknown: 'of an unknown format',
};

/** The format of the file at `path`; a file that cannot be read throws `<path>: cannot read … (<reason>)`. */
export async function fileFormatOf(path: string, what = 'file'): Promise<FileFormat> {
  const head = new Uint8Array(SNIFF_BYTES);
  let read: number;
  try {
    const f = await open(path, 'r');
    try {
      read = (await f.read(head, 0, head.length, 0)).bytesRead;
    } finally {
      await f.close();
    }
  } catch (e) {
    throw new Error(`${path}: cannot read the ${what} (${(e as Error).message})`, { cause: e });
  }
  return fileFormat(head.subarray(0, read));
}
