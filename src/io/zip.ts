/**
 * ZIP archives, read in memory or from disk, and written to disk.
 *
 * The record layouts (end of central directory, ZIP64 end record and locator, central directory and local headers,
 * ZIP64 extra field) are parsed by one set of functions. The steps that need bytes of the archive are generators
 * that yield the byte ranges they want; the in-memory reader answers them with views of its buffer (so stored
 * entries come back zero-copy), the file reader with reads from disk.
 *
 * In memory (`readZipDirectory`, `zipEntryData`): used for torch.save archives; CRCs are not checked.
 *
 * On disk (`ZipReader`): random access for datasets of many images (stylegan2-ada-pytorch stores its datasets as
 * a ZIP of uncompressed PNGs; FFHQ at 1024² is 89 GB and 70,000 entries, so the reader must not load the whole
 * file and both sides need ZIP64). It reads the central directory once, then single entries by offset; every
 * entry's CRC-32 is checked.
 *
 * Both readers inflate deflated entries with fflate, understand ZIP64 sizes and offsets and refuse encrypted entries.
 *
 * Writer: `ZipWriter` in zip-writer.ts (re-exported here); the format's constants are in zip-format.ts.
 *
 * Record layouts follow PKWARE's APPNOTE.TXT (sections 4.3.7, 4.3.12, 4.3.14–4.3.16, 4.5.3).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { Inflate, inflateSync } from 'fflate';
import { MAX_ENTRY_BYTES } from './limits.js';
import { SIG_LOCAL, SIG_CENTRAL, SIG_EOCD, SIG_ZIP64_EOCD, SIG_ZIP64_LOCATOR, ZIP64_EXTRA_ID, U16_MAX, U32_MAX, EOCD_SIZE, LOCAL_HEADER_SIZE, CENTRAL_HEADER_SIZE, ZIP64_EOCD_SIZE, ZIP64_LOCATOR_SIZE, FLAG_ENCRYPTED, METHOD_STORED, METHOD_DEFLATE, MAX_DEFLATE_RATIO, READ_AHEAD, READ_AHEAD_GAP } from './zip-format.js';

/** How errors about an archive in memory name it. */
const IN_MEMORY = 'zip';

/** A malformed or unsupported archive; the message names the file (or `zip` for an archive in memory). */
export class ZipError extends Error {
  constructor(detail: string, source = IN_MEMORY) {
    super(`${source}: ${detail}`);
    this.name = 'ZipError';
  }
}

/** One entry of the central directory. */
export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflated. */
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  /** Offset of the entry's local header in the archive. */
  localHeaderOffset: number;
  /** Lengths of the name and extra field in the central directory. */
  nameLength: number;
  extraLength: number;
}


// ---------------------------------------------------------------------------------------------------
// Record layouts

function u16(b: Uint8Array, at: number): number {
  return b[at] | (b[at + 1] << 8);
}
function u32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}
function u64(b: Uint8Array, at: number, { what, source }: { what: string; source: string }): number {
  const value = u32(b, at) + u32(b, at + 4) * 0x1_0000_0000;
  if (!Number.isSafeInteger(value)) throw new ZipError(`${what} exceeds 2^53`, source);
  return value;
}

/** Entry count, size and offset of the central directory. */
interface Directory {
  count: number;
  size: number;
  offset: number;
}

/**
 * The end-of-central-directory record in `tail` (the last bytes of an archive), with the offset of the ZIP64 end
 * record when a ZIP64 locator precedes it; null when there is no end record.
 */
function parseEnd(tail: Uint8Array, source: string): (Directory & { zip64At: number | null }) | null {
  for (let i = tail.length - EOCD_SIZE; i >= 0; i--) {
    if (u32(tail, i) !== SIG_EOCD || i + EOCD_SIZE + u16(tail, i + 20) > tail.length) continue;
    const locator = i - ZIP64_LOCATOR_SIZE;
    const zip64 = locator >= 0 && u32(tail, locator) === SIG_ZIP64_LOCATOR;
    return {
      count: u16(tail, i + 10),
      size: u32(tail, i + 12),
      offset: u32(tail, i + 16),
      zip64At: zip64 ? u64(tail, locator + 8, { what: 'ZIP64 end record offset', source }) : null,
    };
  }
  return null;
}

/** The ZIP64 end-of-central-directory record `record`, read at offset `at`. */
function parseZip64End(record: Uint8Array, at: number, source: string): Directory {
  if (record.length < ZIP64_EOCD_SIZE || u32(record, 0) !== SIG_ZIP64_EOCD) {
    throw new ZipError(`corrupt ZIP64 end-of-central-directory record at offset ${at}`, source);
  }
  return {
    count: u64(record, 32, { what: 'entry count', source }),
    size: u64(record, 40, { what: 'central directory size', source }),
    offset: u64(record, 48, { what: 'central directory offset', source }),
  };
}

/** `fields` with each 0xFFFFFFFF replaced, in order, by the next 64-bit value of the ZIP64 extra field. */
function zip64Fields(
  b: Uint8Array, { extra, extraLength, fields, source }: { extra: number; extraLength: number; fields: number[]; source: string },
): number[] {
  const out = [...fields];
  const end = extra + extraLength;
  for (let p = extra; p + 4 <= end; ) {
    const length = u16(b, p + 2);
    if (p + 4 + length > end) throw new ZipError('extra field overruns its entry', source);
    if (u16(b, p) === ZIP64_EXTRA_ID) {
      let q = p + 4;
      for (let i = 0; i < out.length; i++) {
        if (out[i] !== U32_MAX) continue;
        if (q + 8 > p + 4 + length) throw new ZipError('ZIP64 extra field too short', source);
        out[i] = u64(b, q, { what: 'ZIP64 field', source });
        q += 8;
      }
    }
    p += 4 + length;
  }
  return out;
}

/** The `count` entries of the central directory `cd`, in archive order. */
function parseCentralDirectory(cd: Uint8Array, count: number, source: string): ZipEntry[] {
  const entries: ZipEntry[] = [];
  const decoder = new TextDecoder('utf-8');
  let at = 0;
  for (let i = 0; i < count; i++) {
    const corrupt = (): ZipError => new ZipError(`corrupt ZIP central directory (entry ${i} of ${count})`, source);
    if (at + CENTRAL_HEADER_SIZE > cd.length || u32(cd, at) !== SIG_CENTRAL) throw corrupt();
    const flags = u16(cd, at + 8);
    const nameLength = u16(cd, at + 28);
    const extraLength = u16(cd, at + 30);
    const commentLength = u16(cd, at + 32);
    const nameStart = at + CENTRAL_HEADER_SIZE;
    if (nameStart + nameLength + extraLength + commentLength > cd.length) throw corrupt();
    const name = decoder.decode(cd.subarray(nameStart, nameStart + nameLength));
    const [size, compressedSize, localHeaderOffset] = zip64Fields(cd, {
      extra: nameStart + nameLength, extraLength, fields: [u32(cd, at + 24), u32(cd, at + 20), u32(cd, at + 42)], source,
    });
    if (flags & FLAG_ENCRYPTED) throw new ZipError(`entry ${name} is encrypted; encrypted archives are not supported`, source);
    entries.push({
      name, method: u16(cd, at + 10), crc32: u32(cd, at + 16), compressedSize, size, localHeaderOffset, nameLength, extraLength,
    });
    at = nameStart + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** Offset of an entry's data from the start of its local header, which `header` begins with. */
function localDataStart(header: Uint8Array, entry: ZipEntry, source: string): number {
  if (header.length < LOCAL_HEADER_SIZE || u32(header, 0) !== SIG_LOCAL) {
    throw new ZipError(`entry ${entry.name}: bad local header at offset ${entry.localHeaderOffset}`, source);
  }
  return LOCAL_HEADER_SIZE + u16(header, 26) + u16(header, 28);
}

function checkMethod(entry: ZipEntry, source: string): void {
  if (entry.method !== METHOD_STORED && entry.method !== METHOD_DEFLATE) {
    throw new ZipError(
      `entry ${entry.name} uses compression method ${entry.method}; only stored (0) and deflate (8) are supported`, source,
    );
  }
}

/** An entry's uncompressed bytes from its stored data `raw` (`raw` itself for a stored entry). CRC not checked. */
function decodeEntry(entry: ZipEntry, raw: Uint8Array, source: string): Uint8Array {
  checkMethod(entry, source);
  let data = raw;
  if (entry.method === METHOD_DEFLATE) {
    if (entry.size > raw.length * MAX_DEFLATE_RATIO + 64) throw new ZipError(`entry ${entry.name} claims an impossible size`, source);
    try {
      data = inflateSync(raw, { out: new Uint8Array(entry.size) });
    } catch (err) {
      throw new ZipError(`entry ${entry.name}: corrupt deflate data (${(err as Error).message})`, source);
    }
  }
  if (data.length !== entry.size) throw new ZipError(`entry ${entry.name}: expected ${entry.size} bytes, got ${data.length}`, source);
  return data;
}

// ---------------------------------------------------------------------------------------------------
// Steps that read the archive: generators yield the byte ranges they need and are sent those bytes (fewer when
// the range runs past the end of the archive).

interface Range {
  position: number;
  length: number;
}
type Reads<T> = Generator<Range, T, Uint8Array>;

/** All entries of the central directory, in archive order; null when the archive has no end record. */
function* readDirectory(archiveSize: number, source: string): Reads<ZipEntry[] | null> {
  // The end record sits at the end, followed by a comment of at most 65535 bytes.
  const tailLength = Math.min(archiveSize, EOCD_SIZE + U16_MAX);
  const end = parseEnd(yield { position: archiveSize - tailLength, length: tailLength }, source);
  if (!end) return null;
  const dir = end.zip64At === null
    ? end
    : parseZip64End(yield { position: end.zip64At, length: ZIP64_EOCD_SIZE }, end.zip64At, source);
  if (dir.offset + dir.size > archiveSize) throw new ZipError('ZIP central directory lies beyond the end of the file', source);
  const entries = parseCentralDirectory(yield { position: dir.offset, length: dir.size }, dir.count, source);
  for (const e of entries) checkEntrySizes(e, archiveSize, source);
  return entries;
}

/** Sizes an entry cannot have: data beyond the end of the archive, or a stored entry whose two sizes differ. */
function checkEntrySizes(entry: ZipEntry, archiveSize: number, source: string): void {
  if (entry.localHeaderOffset + LOCAL_HEADER_SIZE + entry.compressedSize > archiveSize) {
    throw new ZipError(`entry ${entry.name} claims ${entry.compressedSize} bytes at offset ${entry.localHeaderOffset}, beyond the end of the archive (${archiveSize} bytes)`, source);
  }
  if (entry.method === METHOD_STORED && entry.size !== entry.compressedSize) {
    throw new ZipError(`entry ${entry.name} is stored with ${entry.compressedSize} bytes but claims to be ${entry.size}`, source);
  }
}

/**
 * The first `length` bytes of an entry's stored data, located through its local header. Header and data are
 * asked for in one range (the local extra field is assumed as long as the central one, and re-read if it is not).
 */
function* readStored(entry: ZipEntry, length: number, source: string): Reads<Uint8Array> {
  const guess = LOCAL_HEADER_SIZE + entry.nameLength + entry.extraLength;
  const bytes = yield { position: entry.localHeaderOffset, length: guess + length };
  const dataStart = localDataStart(bytes, entry, source);
  const data = dataStart === guess
    ? bytes.subarray(dataStart)
    : yield { position: entry.localHeaderOffset + dataStart, length };
  if (data.length !== length) throw new ZipError(`entry ${entry.name}: archive is truncated`, source);
  return data;
}

/** Runs read steps against an archive in memory: every range is a view of `buf`. */
function readsFromMemory<T>(steps: Reads<T>, buf: Uint8Array): T {
  let step = steps.next();
  while (!step.done) step = steps.next(buf.subarray(step.value.position, step.value.position + step.value.length));
  return step.value;
}

/** Runs read steps against an archive on disk. */
async function readsFromDisk<T>(steps: Reads<T>, read: (range: Range) => Promise<Uint8Array>): Promise<T> {
  let step = steps.next();
  while (!step.done) step = steps.next(await read(step.value));
  return step.value;
}

// ---------------------------------------------------------------------------------------------------
// In memory

/** All entries of an archive in memory, by name; every entry's local header and data are checked to lie inside. */
export function readZipDirectory(buf: Uint8Array): Map<string, ZipEntry> {
  const list = readsFromMemory(readDirectory(buf.length, IN_MEMORY), buf);
  if (!list) throw new ZipError('end of central directory not found (not a zip file?)');
  const entries = new Map<string, ZipEntry>();
  for (const entry of list) {
    checkMethod(entry, IN_MEMORY);
    readsFromMemory(readStored(entry, entry.compressedSize, IN_MEMORY), buf);
    entries.set(entry.name, entry);
  }
  return entries;
}

/** The uncompressed bytes of an entry (a view into `buf` for stored entries). */
export function zipEntryData(buf: Uint8Array, entry: ZipEntry): Uint8Array {
  return decodeEntry(entry, readsFromMemory(readStored(entry, entry.compressedSize, IN_MEMORY), buf), IN_MEMORY);
}

// ---------------------------------------------------------------------------------------------------
// On disk

/** Random-access reader of a ZIP archive on disk. */
export class ZipReader {
  /** The last read-ahead block and the end of the last requested range (see `readRange`). */
  private window: ReadWindow | null = null;
  private lastEnd = -1;

  private constructor(
    readonly path: string,
    private readonly file: FileHandle,
    readonly entries: ReadonlyMap<string, ZipEntry>,
  ) {}

  static async open(path: string): Promise<ZipReader> {
    const file = await open(path, 'r');
    try {
      const { size } = await file.stat();
      const list = await readsFromDisk(readDirectory(size, path), (range) => readAt(file, range.position, range.length));
      if (!list) throw new ZipError('not a ZIP archive (no end-of-central-directory record)', path);
      const entries = new Map(list.filter((e) => !e.name.endsWith('/')).map((e) => [e.name, e]));
      return new ZipReader(path, file, entries);
    } catch (err) {
      await file.close();
      throw err;
    }
  }

  /** The entry names in archive order (directories excluded). */
  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The uncompressed contents of an entry, at most `maxBytes` (checked before reading); the CRC-32 is verified. */
  async read(name: string, maxBytes = MAX_ENTRY_BYTES): Promise<Uint8Array> {
    const entry = this.entry(name);
    if (entry.size > maxBytes) throw new ZipError(`entry ${name} claims ${entry.size} bytes, more than the ${maxBytes} allowed for it`, this.path);
    const data = decodeEntry(entry, await this.readStored(entry, entry.compressedSize), this.path);
    if (crc32(data) !== entry.crc32) throw new ZipError(`entry ${name}: CRC-32 mismatch (corrupt archive)`, this.path);
    return data;
  }

  /**
   * The first `length` bytes of an entry (fewer if the entry is shorter), without reading the rest when the entry
   * is stored, and inflating no more than `length` bytes when it is deflated (a header never costs the whole
   * image). Not CRC-checked.
   */
  async readHead(name: string, length: number): Promise<Uint8Array> {
    const entry = this.entry(name);
    if (entry.method === METHOD_STORED) return this.readStored(entry, Math.min(length, entry.size));
    checkMethod(entry, this.path);
    const raw = await this.readStored(entry, entry.compressedSize);
    const want = Math.min(length, entry.size);
    const out = new Uint8Array(want);
    let filled = 0;
    const inflate = new Inflate((chunk) => {
      const n = Math.min(chunk.length, want - filled);
      out.set(chunk.subarray(0, n), filled);
      filled += n;
    });
    try {
      // Small compressed steps: each inflates to at most ~1 MiB, and inflation stops once the head is complete.
      for (let at = 0; at < raw.length && filled < want; at += 1024) inflate.push(raw.subarray(at, at + 1024), at + 1024 >= raw.length);
    } catch (err) {
      throw new ZipError(`entry ${name}: corrupt deflate data (${(err as Error).message})`, this.path);
    }
    return out.subarray(0, filled);
  }

  async close(): Promise<void> {
    await this.file.close();
  }

  private entry(name: string): ZipEntry {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`${this.path}: no entry named ${name}`);
    return entry;
  }

  private readStored(entry: ZipEntry, length: number): Promise<Uint8Array> {
    return readsFromDisk(readStored(entry, length, this.path), (range) => this.readRange(range.position, range.length));
  }

  /**
   * Reads a byte range, with read-ahead for forward scans: when a read starts at or shortly after the end of the
   * previous one (opening or caching a dataset walks the archive in order), READ_AHEAD bytes are read at once and
   * later reads inside them are served from memory. Random access reads just the range.
   */
  private async readRange(position: number, length: number): Promise<Uint8Array> {
    const window = this.window;
    if (window && position >= window.start && position + length <= window.end) {
      const bytes = await window.bytes;
      return bytes.slice(position - window.start, position - window.start + length);
    }
    const forward = position >= this.lastEnd && position - this.lastEnd <= READ_AHEAD_GAP;
    this.lastEnd = position + length;
    if (!forward || length >= READ_AHEAD) return readAt(this.file, position, length);
    const next: ReadWindow = { start: position, end: position + READ_AHEAD, bytes: readAt(this.file, position, READ_AHEAD) };
    this.window = next;
    return (await next.bytes).slice(0, length);
  }
}

interface ReadWindow {
  start: number;
  end: number;
  bytes: Promise<Uint8Array>;
}

async function readAt(file: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await file.read(out, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === length ? out : out.subarray(0, filled);
}

export { ZipWriter } from './zip-writer.js';
