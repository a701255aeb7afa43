/**
 * Atomic file replacement: readers of `path` see either the complete old file or the complete new one, never a
 * partial write, even if the process is killed or the machine loses power mid-write.
 *
 * The contents go to a temporary file in the same directory (`<path>.tmp-<pid>-<random>`, so the rename cannot
 * cross file systems), which is fsynced, renamed over the target, and then the directory is fsynced so the rename
 * itself is durable. If writing fails, the temporary file is removed and the old file is untouched. A process
 * killed outright (SIGKILL, power loss) can leave a stale `.tmp-` file next to the target, never a damaged target.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** What can be written: a string (UTF-8), bytes, or a sequence of byte chunks written in order. */
export type FileContents = string | Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

async function* chunksOf(contents: FileContents): AsyncIterable<Uint8Array> {
  if (typeof contents === 'string') yield Buffer.from(contents, 'utf8');
  else if (contents instanceof Uint8Array) yield contents;
  else yield* contents;
}

async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  for (let done = 0; done < chunk.byteLength; ) {
    const { bytesWritten } = await handle.write(chunk, done, chunk.byteLength - done);
    done += bytesWritten;
  }
}

/** The permission bits of an existing target, so replacing a file keeps its mode; 0o666 (minus umask) otherwise. */
async function modeFor(path: string): Promise<number> {
  try {
    return (await stat(path)).mode & 0o777;
  } catch {
    return 0o666;
  }
}

/** Makes a completed rename durable; file systems or platforms that cannot fsync a directory are skipped. */
async function syncDirectory(directory: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!['EISDIR', 'EINVAL', 'EPERM', 'EACCES', 'ENOTSUP'].includes(code ?? '')) throw error;
  } finally {
    await handle?.close();
  }
}

/** Writes `contents` to `path` atomically (see the module comment). */
export async function writeFileAtomic(path: string, contents: FileContents): Promise<void> {
  const target = resolve(path);
  const temporary = `${target}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  let handle: FileHandle | undefined;
  try {
    handle = await open(temporary, 'wx', await modeFor(target));
    for await (const chunk of chunksOf(contents)) await writeAll(handle, chunk);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temporary, target);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw new Error(`${target}: cannot write: ${(error as Error).message}`, { cause: error });
  }
  await syncDirectory(dirname(target));
}

/**
 * Creates folder `path` and its parents (as `mkdir -p`). Node reports a recursive mkdir on a read-only file system
 * as ENOENT; on failure the first missing folder is created alone to learn the true reason (EROFS, EACCES, ENOSPC,
 * ENOTDIR…), and the error reads `<path>: cannot create the folder (<reason>)`.
 */
export function makeDirectory(path: string): void {
  try {
    mkdirSync(path, { recursive: true });
  } catch (error) {
    let reason = error as NodeJS.ErrnoException;
    let first = resolve(path);
    while (!existsSync(dirname(first)) && dirname(first) !== first) first = dirname(first);
    try {
      mkdirSync(first);
    } catch (inner) {
      if ((inner as NodeJS.ErrnoException).code !== 'EEXIST') reason = inner as NodeJS.ErrnoException;
    }
    throw new Error(`${path}: cannot create the folder (${reason.code ?? reason.message}: ${reasonText(reason)})`, { cause: error });
  }
}

/** The system's words for an error, without Node's `CODE: ` prefix and `, syscall 'path'` suffix. */
function reasonText(e: NodeJS.ErrnoException): string {
  return e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
}
