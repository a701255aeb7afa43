/** Reading a whole file for a format decoder, with errors that name the format and the file. */
import { readFile } from 'node:fs/promises';

/**
 * How errors of a format decoder start: `<path>: <format>` for a file (the file first, as every `stylegan:` error
 * reads), `<format> (in-memory buffer)` otherwise.
 */
export function errorPrefix(format: string, path: string | undefined): string {
  return path === undefined ? `${format} (in-memory buffer)` : `${path}: ${format}`;
}

/** The bytes of `path` as a plain Uint8Array; a failure reads "<path>: <format>: cannot read: <reason>". */
export async function readFileBytes(path: string, format: string): Promise<Uint8Array> {
  try {
    const bytes = await readFile(path);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } catch (error) {
    throw new Error(`${errorPrefix(format, path)}: cannot read: ${(error as Error).message}`, { cause: error });
  }
}
