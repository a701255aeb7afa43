/** Reading a whole file for a format decoder, with errors that name the format and the file. */
import { readFile } from 'node:fs/promises';

/** The bytes of `path` as a plain Uint8Array; a failure reads "<format> <path>: cannot read: <reason>". */
export async function readFileBytes(path: string, format: string): Promise<Uint8Array> {
  try {
    const bytes = await readFile(path);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } catch (error) {
    throw new Error(`${format} ${path}: cannot read: ${(error as Error).message}`, { cause: error });
  }
}
