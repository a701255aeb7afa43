/**
 * Streaming a pickle from its file: the machine reads the opcodes through a window of the file (`FileReader`), and
 * every `bytes` payload of at least `lazyBytesMin` bytes is left in the file as a `FileBytes` record (where it
 * lies) instead of being read. numpy arrays over such payloads read their data only when asked (pickle-numpy.ts),
 * and the official importer copies them straight from the file into the network's tensors, so that the whole file is
 * never held in memory. Lengths are checked against the file size exactly as against an in-memory input, so errors
 * read the same either way.
 */
import { closeSync, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { Reader } from './pickle-opcodes.js';
import { PickleError, type FileBytes, type PayloadSource } from './pickle-types.js';

/** Default size of the window the opcodes are read through (it grows for a longer single item, e.g. a module's source). */
export const WINDOW_BYTES = 1 << 20;
/** Default smallest payload left in the file. */
export const LAZY_BYTES_MIN = 64 << 10;

/** Fills `into` with the bytes of `fd` from `position` on; fails when the file ends first. */
export function readFully(fd: number, into: Uint8Array, position: number): void {
  let done = 0;
  while (done < into.length) {
    const n = readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) throw new PickleError(`cannot read the file: it ends at byte ${position + done}, ${into.length - done} bytes early`);
    done += n;
  }
}

/** Runs `f`, turning a system error (of opening, stat-ing or reading the file) into a PickleError. */
function asPickleError<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof PickleError) throw e;
    throw new PickleError(`cannot read the file (${(e as Error).message})`, undefined, { cause: e });
  }
}

/** The identity of a file's contents as far as `stat` tells: it must not change between parsing and reading. */
function sameFile(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/** A parsed pickle file, opened again (and checked to be unchanged) each time payloads are read. */
export class PickleFileSource implements PayloadSource {
  constructor(readonly path: string, private readonly stat: Stats) {}

  reading<T>(use: (readAt: (offset: number, into: Uint8Array) => void) => T): T {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch (e) {
      throw new PickleError(`cannot read array data (${(e as Error).message})`, undefined, { cause: e, file: this.path });
    }
    try {
      if (!sameFile(fstatSync(fd), this.stat)) throw new PickleError('the file changed after it was parsed', undefined, { file: this.path });
      return use((offset, into) => {
        try {
          asPickleError(() => readFully(fd, into, offset));
        } catch (e) {
          throw new PickleError((e as PickleError).detail, undefined, { cause: e, file: this.path });
        }
      });
    } finally {
      closeSync(fd);
    }
  }
}

/** A `Reader` over an open file: opcodes come through a window, large payloads stay in the file. */
export class FileReader extends Reader {
  private capacity = new Uint8Array(0);

  constructor(private readonly fd: number, private readonly o: { size: number; source: PayloadSource; lazyBytesMin: number; windowBytes: number }) {
    super(new Uint8Array(0), 0, o.size);
  }

  protected override fill(n: number): void {
    const i = this.pos - this.base;
    if (i >= 0 && i + n <= this.buf.length) return;
    const length = Math.min(Math.max(n, this.o.windowBytes), this.size - this.pos);
    if (this.capacity.length < length) this.capacity = new Uint8Array(length);
    const window = this.capacity.subarray(0, length);
    asPickleError(() => readFully(this.fd, window, this.pos));
    this.buf = window;
    this.view = new DataView(window.buffer, window.byteOffset, window.byteLength);
    this.base = this.pos;
  }

  /** Copies: the window is overwritten by the next fill. */
  protected override take(i: number, n: number): Uint8Array {
    return this.buf.slice(i, i + n);
  }

  override payload(n: number, what: string): Uint8Array | FileBytes {
    if (n < this.o.lazyBytesMin) return this.bytes(n, what);
    this.check(n, what);
    const out: FileBytes = { kind: 'file-bytes', source: this.o.source, offset: this.pos, length: n };
    this.pos += n;
    return out;
  }

  protected override findNewline(): number {
    for (;;) {
      const nl = super.findNewline();
      const end = this.base + this.buf.length;
      if (nl >= 0 || end >= this.size) return nl;
      this.fill(Math.min(this.left, 2 * (end - this.pos) + this.o.windowBytes));
    }
  }
}

/** Opens `path` for streaming: its descriptor, its stat and the source its payloads are read from later. */
export function openPickleFile(path: string): { fd: number; stat: Stats; source: PickleFileSource } {
  const fd = asPickleError(() => openSync(path, 'r'));
  try {
    const stat = asPickleError(() => fstatSync(fd));
    return { fd, stat, source: new PickleFileSource(path, stat) };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}
