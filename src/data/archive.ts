/**
 * A collection of image files, either a folder (searched recursively) or a ZIP archive, addressed by relative
 * POSIX paths. Image files are those ending in .png, .jpg, .jpeg or .webp (any case); they are listed sorted by
 * path, the order stylegan2-ada-pytorch uses (`sorted(...)` of the relative names). macOS metadata (`__MACOSX/`,
 * `._*` files) and hidden files are ignored.
 */
import { open, readFile, readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MAX_ENTRY_BYTES } from '../io/limits.js';
import { ZipReader } from '../io/zip.js';

const IMAGE_EXTENSION = /\.(png|jpe?g|webp)$/i;

/** Whether a relative path names an image file that belongs to the collection. */
export function isImageName(name: string): boolean {
  if (!IMAGE_EXTENSION.test(name)) return false;
  return !name.split('/').some((part) => part.startsWith('.') || part === '__MACOSX');
}

export interface ImageArchive {
  readonly path: string;
  readonly kind: 'zip' | 'folder';
  /** Image files, sorted. */
  readonly imageNames: readonly string[];
  /** Bytes the image files claim they unpack to (a ZIP's central directory); null for a folder (read as it is). */
  readonly imageBytes: number | null;
  /** Whether a file (image or not) exists in the collection. */
  has(name: string): Promise<boolean>;
  /** A file's bytes; one larger than `maxBytes` (default MAX_ENTRY_BYTES) is refused before it is read. */
  read(name: string, maxBytes?: number): Promise<Uint8Array>;
  /** The first `length` bytes of a file (the whole file when it is shorter). */
  readHead(name: string, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Sorts relative paths by UTF-16 code units (JavaScript's default sort; Python sorts by code points). */
function sortNames(names: string[]): string[] {
  return names.sort();
}

function reason(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}

/**
 * Relative paths of all files under `root`, following symbolic links to files and folders. Each real folder is
 * listed once (by its resolved path), so links that loop (`a -> .`) or lead to a folder twice add nothing.
 */
async function listFiles(root: string, prefix = '', seen = new Set<string>()): Promise<string[]> {
  const real = await realpath(join(root, prefix));
  if (seen.has(real)) return [];
  seen.add(real);
  const out: string[] = [];
  for (const entry of await readdir(join(root, prefix), { withFileTypes: true })) {
    const name = prefix ? `${prefix}/${entry.name}` : entry.name;
    let isDirectory = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      const target = await stat(join(root, name)).catch(() => null);
      isDirectory = target?.isDirectory() ?? false;
      isFile = target?.isFile() ?? false;
    }
    if (isDirectory) out.push(...(await listFiles(root, name, seen)));
    else if (isFile) out.push(name);
  }
  return out;
}

class FolderArchive implements ImageArchive {
  readonly kind = 'folder';
  readonly imageBytes = null;
  constructor(
    readonly path: string,
    readonly imageNames: readonly string[],
  ) {}

  async has(name: string): Promise<boolean> {
    return (await stat(join(this.path, name)).catch(() => null))?.isFile() ?? false;
  }

  async read(name: string, maxBytes = MAX_ENTRY_BYTES): Promise<Uint8Array> {
    const size = (await stat(join(this.path, name)).catch(() => null))?.size ?? 0;
    if (size > maxBytes) throw new Error(`${name}: is ${size} bytes, more than the ${maxBytes} allowed for it`);
    try {
      return await readFile(join(this.path, name));
    } catch (err) {
      throw new Error(`${name}: cannot read file (${reason(err)})`);
    }
  }

  async readHead(name: string, length: number): Promise<Uint8Array> {
    let file;
    try {
      file = await open(join(this.path, name), 'r');
      const buffer = new Uint8Array(length);
      const { bytesRead } = await file.read(buffer, 0, length, 0);
      return buffer.subarray(0, bytesRead);
    } catch (err) {
      throw new Error(`${name}: cannot read file (${reason(err)})`);
    } finally {
      await file?.close();
    }
  }

  async close(): Promise<void> {}
}

class ZipArchive implements ImageArchive {
  readonly kind = 'zip';
  readonly imageNames: readonly string[];
  readonly imageBytes: number;
  constructor(private readonly zip: ZipReader) {
    this.imageNames = sortNames(zip.names().filter(isImageName));
    this.imageBytes = this.imageNames.reduce((sum, name) => sum + zip.entries.get(name)!.size, 0);
  }

  get path(): string {
    return this.zip.path;
  }

  async has(name: string): Promise<boolean> {
    return this.zip.has(name);
  }

  read(name: string, maxBytes?: number): Promise<Uint8Array> {
    return this.zip.read(name, maxBytes);
  }

  readHead(name: string, length: number): Promise<Uint8Array> {
    return this.zip.readHead(name, length);
  }

  close(): Promise<void> {
    return this.zip.close();
  }
}

/** Whether the file starts like a ZIP archive (a local header, or an empty archive's end record). */
export function looksLikeZip(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5) && head[3] === head[2] + 1;
}

/** Opens a folder or a ZIP archive of images. */
export async function openArchive(path: string): Promise<ImageArchive> {
  const info = await stat(path).catch((err) => {
    throw new Error(`${path}: cannot open (${reason(err)})`);
  });
  if (info.isDirectory()) return new FolderArchive(path, sortNames((await listFiles(path)).filter(isImageName)));
  return new ZipArchive(await ZipReader.open(path));
}
