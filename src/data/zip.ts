/**
 * ZIP archives with random access, for datasets of many images (stylegan2-ada-pytorch stores its datasets as
 * a ZIP of uncompressed PNGs; FFHQ at 1024² is 89 GB and 70,000 entries, so the reader must not load the whole
 * file and both sides need ZIP64).
 *
 * Reader: finds the end-of-central-directory record (and the ZIP64 one when present), reads the central
 * directory once, then reads single entries by offset. Stored entries are returned as-is, deflated ones are
 * inflated with fflate; every entry's CRC-32 is checked.
 *
 * Writer: stored (uncompressed) entries only, like stylegan2-ada-pytorch's dataset_tool; PNG data is already
 * compressed. ZIP64 records are written when the entry count or an offset needs them. Timestamps are fixed
 * (1980-01-01) so the same input gives the same bytes.
 *
 * Record layouts follow PKWARE's APPNOTE.TXT (sections 4.3.7, 4.3.12, 4.3.14–4.3.16, 4.5.3).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { inflateSync } from 'fflate';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EXTRA_ID = 0x0001;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;
const EOCD_SIZE = 22;
const LOCAL_HEADER_SIZE = 30;
const CENTRAL_HEADER_SIZE = 46;
const ZIP64_EOCD_SIZE = 56;
const ZIP64_LOCATOR_SIZE = 20;
const FLAG_ENCRYPTED = 0x0001;
/** Bytes read at once when an archive is scanned forward, and how far ahead a read may start to count as a scan. */
const READ_AHEAD = 1 << 20;
const READ_AHEAD_GAP = 1 << 18;
const FLAG_UTF8 = 0x0800;
const METHOD_STORED = 0;
const METHOD_DEFLATE = 8;
/** DOS date of 1980-01-01 00:00:00 (day 1, month 1, year 0). */
const DOS_DATE_1980 = (1 << 5) | 1;

export interface ZipEntry {
  name: string;
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

function u16(b: Uint8Array, at: number): number {
  return b[at] | (b[at + 1] << 8);
}
function u32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}
function u64(b: Uint8Array, at: number): number {
  const value = u32(b, at) + u32(b, at + 4) * 0x1_0000_0000;
  if (!Number.isSafeInteger(value)) throw new Error('64-bit ZIP field exceeds 2^53');
  return value;
}

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
      const entries = await readCentralDirectory(file, path);
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

  /** The uncompressed contents of an entry; the CRC-32 is verified. */
  async read(name: string): Promise<Uint8Array> {
    const entry = this.entry(name);
    const raw = await this.readRaw(entry, entry.compressedSize);
    let data: Uint8Array;
    if (entry.method === METHOD_STORED) {
      data = raw;
    } else if (entry.method === METHOD_DEFLATE) {
      try {
        data = inflateSync(raw, { out: new Uint8Array(entry.size) });
      } catch (err) {
        throw new Error(`${this.path}: entry ${name}: corrupt deflate data (${(err as Error).message})`);
      }
    } else {
      throw new Error(
        `${this.path}: entry ${name} uses compression method ${entry.method}; only stored (0) and deflate (8) are supported`,
      );
    }
    if (data.length !== entry.size) {
      throw new Error(`${this.path}: entry ${name}: expected ${entry.size} bytes, got ${data.length}`);
    }
    if (crc32(data) !== entry.crc32) throw new Error(`${this.path}: entry ${name}: CRC-32 mismatch (corrupt archive)`);
    return data;
  }

  /**
   * The first `length` bytes of an entry (fewer if the entry is shorter), without reading the rest when the entry
   * is stored. Not CRC-checked.
   */
  async readHead(name: string, length: number): Promise<Uint8Array> {
    const entry = this.entry(name);
    if (entry.method !== METHOD_STORED) return (await this.read(name)).subarray(0, length);
    return this.readRaw(entry, Math.min(length, entry.size));
  }

  async close(): Promise<void> {
    await this.file.close();
  }

  private entry(name: string): ZipEntry {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`${this.path}: no entry named ${name}`);
    return entry;
  }

  /**
   * `length` bytes of the entry's stored data, located through its local header. Header and data are fetched in
   * one read (the local extra field is assumed as long as the central one, and re-read if it is not).
   */
  private async readRaw(entry: ZipEntry, length: number): Promise<Uint8Array> {
    const guess = LOCAL_HEADER_SIZE + entry.nameLength + entry.extraLength;
    const bytes = await this.readRange(entry.localHeaderOffset, guess + length);
    if (bytes.length < LOCAL_HEADER_SIZE || u32(bytes, 0) !== SIG_LOCAL) {
      throw new Error(`${this.path}: entry ${entry.name}: bad local header at offset ${entry.localHeaderOffset}`);
    }
    const dataStart = LOCAL_HEADER_SIZE + u16(bytes, 26) + u16(bytes, 28);
    const data =
      dataStart === guess ? bytes.subarray(dataStart) : await this.readRange(entry.localHeaderOffset + dataStart, length);
    if (data.length !== length) throw new Error(`${this.path}: entry ${entry.name}: archive is truncated`);
    return data;
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

async function readCentralDirectory(file: FileHandle, path: string): Promise<Map<string, ZipEntry>> {
  const { size: fileSize } = await file.stat();
  // The EOCD record sits at the end, followed by a comment of at most 65535 bytes.
  const tailLength = Math.min(fileSize, EOCD_SIZE + U16_MAX);
  const tailStart = fileSize - tailLength;
  const tail = await readAt(file, tailStart, tailLength);
  let eocd = -1;
  for (let i = tail.length - EOCD_SIZE; i >= 0; i--) {
    if (u32(tail, i) === SIG_EOCD && i + EOCD_SIZE + u16(tail, i + 20) <= tail.length) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${path}: not a ZIP archive (no end-of-central-directory record)`);
  let count = u16(tail, eocd + 10);
  let cdSize = u32(tail, eocd + 12);
  let cdOffset = u32(tail, eocd + 16);
  const locatorAt = eocd - ZIP64_LOCATOR_SIZE;
  if (locatorAt >= 0 && u32(tail, locatorAt) === SIG_ZIP64_LOCATOR) {
    const zip64At = u64(tail, locatorAt + 8);
    const record = await readAt(file, zip64At, ZIP64_EOCD_SIZE);
    if (record.length < ZIP64_EOCD_SIZE || u32(record, 0) !== SIG_ZIP64_EOCD) {
      throw new Error(`${path}: corrupt ZIP64 end-of-central-directory record at offset ${zip64At}`);
    }
    count = u64(record, 32);
    cdSize = u64(record, 40);
    cdOffset = u64(record, 48);
  }
  if (cdOffset + cdSize > fileSize) throw new Error(`${path}: ZIP central directory lies beyond the end of the file`);
  const cd = await readAt(file, cdOffset, cdSize);
  const entries = new Map<string, ZipEntry>();
  const decoder = new TextDecoder('utf-8');
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + CENTRAL_HEADER_SIZE > cd.length || u32(cd, at) !== SIG_CENTRAL) {
      throw new Error(`${path}: corrupt ZIP central directory (entry ${i} of ${count})`);
    }
    const flags = u16(cd, at + 8);
    const nameLength = u16(cd, at + 28);
    const extraLength = u16(cd, at + 30);
    const commentLength = u16(cd, at + 32);
    const name = decoder.decode(cd.subarray(at + CENTRAL_HEADER_SIZE, at + CENTRAL_HEADER_SIZE + nameLength));
    let compressedSize = u32(cd, at + 20);
    let size = u32(cd, at + 24);
    let localHeaderOffset = u32(cd, at + 42);
    // ZIP64 extra field: the 64-bit values of exactly those fields that hold 0xFFFFFFFF, in this order.
    const extraStart = at + CENTRAL_HEADER_SIZE + nameLength;
    for (let e = extraStart; e + 4 <= extraStart + extraLength; ) {
      const id = u16(cd, e);
      const length = u16(cd, e + 2);
      if (id === ZIP64_EXTRA_ID) {
        let p = e + 4;
        if (size === U32_MAX) {
          size = u64(cd, p);
          p += 8;
        }
        if (compressedSize === U32_MAX) {
          compressedSize = u64(cd, p);
          p += 8;
        }
        if (localHeaderOffset === U32_MAX) localHeaderOffset = u64(cd, p);
      }
      e += 4 + length;
    }
    if (flags & FLAG_ENCRYPTED) throw new Error(`${path}: entry ${name} is encrypted; encrypted archives are not supported`);
    if (!name.endsWith('/')) {
      entries.set(name, {
        name, method: u16(cd, at + 10), crc32: u32(cd, at + 16), compressedSize, size, localHeaderOffset, nameLength, extraLength,
      });
    }
    at += CENTRAL_HEADER_SIZE + nameLength + extraLength + commentLength;
  }
  return entries;
}

interface WrittenEntry {
  name: Uint8Array;
  crc32: number;
  size: number;
  offset: number;
  utf8: boolean;
}

/** Writes a ZIP archive of stored entries, sequentially. */
export class ZipWriter {
  private readonly written: WrittenEntry[] = [];
  private offset = 0;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly file: FileHandle,
    /** Always write the ZIP64 end records (for tests of the ZIP64 path); otherwise only when needed. */
    private readonly forceZip64: boolean,
  ) {}

  /** Creates (or truncates) the archive file. */
  static async create(path: string, options: { forceZip64?: boolean } = {}): Promise<ZipWriter> {
    return new ZipWriter(path, await open(path, 'w'), options.forceZip64 ?? false);
  }

  /** Appends one stored entry. */
  async add(name: string, data: Uint8Array): Promise<void> {
    if (this.closed) throw new Error(`${this.path}: ZIP writer is closed`);
    if (data.length >= U32_MAX) throw new Error(`${this.path}: entry ${name} is too large (${data.length} bytes)`);
    const nameBytes = new TextEncoder().encode(name);
    const entry: WrittenEntry = {
      name: nameBytes,
      crc32: crc32(data),
      size: data.length,
      offset: this.offset,
      utf8: /[^\x20-\x7e]/.test(name),
    };
    const header = new Uint8Array(LOCAL_HEADER_SIZE + nameBytes.length);
    const view = new DataView(header.buffer);
    view.setUint32(0, SIG_LOCAL, true);
    view.setUint16(4, 20, true); // version needed: 2.0
    view.setUint16(6, entry.utf8 ? FLAG_UTF8 : 0, true);
    view.setUint16(8, METHOD_STORED, true);
    view.setUint16(10, 0, true); // time 00:00:00
    view.setUint16(12, DOS_DATE_1980, true);
    view.setUint32(14, entry.crc32, true);
    view.setUint32(18, entry.size, true);
    view.setUint32(22, entry.size, true);
    view.setUint16(26, nameBytes.length, true);
    view.setUint16(28, 0, true);
    header.set(nameBytes, LOCAL_HEADER_SIZE);
    await this.write([header, data]);
    this.written.push(entry);
  }

  /** Writes the central directory and the end records, and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      const chunks: Uint8Array[] = [];
      const cdOffset = this.offset;
      let cdSize = 0;
      for (const entry of this.written) {
        const zip64Offset = entry.offset >= U32_MAX;
        const extraLength = zip64Offset ? 12 : 0;
        const header = new Uint8Array(CENTRAL_HEADER_SIZE + entry.name.length + extraLength);
        const view = new DataView(header.buffer);
        view.setUint32(0, SIG_CENTRAL, true);
        view.setUint16(4, (3 << 8) | 45, true); // made by: Unix, spec 4.5
        view.setUint16(6, zip64Offset ? 45 : 20, true);
        view.setUint16(8, entry.utf8 ? FLAG_UTF8 : 0, true);
        view.setUint16(10, METHOD_STORED, true);
        view.setUint16(12, 0, true);
        view.setUint16(14, DOS_DATE_1980, true);
        view.setUint32(16, entry.crc32, true);
        view.setUint32(20, entry.size, true);
        view.setUint32(24, entry.size, true);
        view.setUint16(28, entry.name.length, true);
        view.setUint16(30, extraLength, true);
        view.setUint32(38, (0o100644 << 16) >>> 0, true); // external attributes: regular file, rw-r--r--
        view.setUint32(42, zip64Offset ? U32_MAX : entry.offset, true);
        header.set(entry.name, CENTRAL_HEADER_SIZE);
        if (zip64Offset) {
          const e = CENTRAL_HEADER_SIZE + entry.name.length;
          view.setUint16(e, ZIP64_EXTRA_ID, true);
          view.setUint16(e + 2, 8, true);
          view.setBigUint64(e + 4, BigInt(entry.offset), true);
        }
        chunks.push(header);
        cdSize += header.length;
      }
      const count = this.written.length;
      const needZip64 = this.forceZip64 || count >= U16_MAX || cdOffset >= U32_MAX || cdSize >= U32_MAX;
      if (needZip64) {
        const zip64At = cdOffset + cdSize;
        const record = new Uint8Array(ZIP64_EOCD_SIZE + ZIP64_LOCATOR_SIZE);
        const view = new DataView(record.buffer);
        view.setUint32(0, SIG_ZIP64_EOCD, true);
        view.setBigUint64(4, BigInt(ZIP64_EOCD_SIZE - 12), true); // size of the rest of the record
        view.setUint16(12, (3 << 8) | 45, true);
        view.setUint16(14, 45, true);
        view.setBigUint64(24, BigInt(count), true); // entries on this disk
        view.setBigUint64(32, BigInt(count), true); // entries in total
        view.setBigUint64(40, BigInt(cdSize), true);
        view.setBigUint64(48, BigInt(cdOffset), true);
        view.setUint32(ZIP64_EOCD_SIZE, SIG_ZIP64_LOCATOR, true);
        view.setBigUint64(ZIP64_EOCD_SIZE + 8, BigInt(zip64At), true);
        view.setUint32(ZIP64_EOCD_SIZE + 16, 1, true); // total number of disks
        chunks.push(record);
      }
      const eocd = new Uint8Array(EOCD_SIZE);
      const view = new DataView(eocd.buffer);
      view.setUint32(0, SIG_EOCD, true);
      // Values that do not fit are saturated; readers take them from the ZIP64 record.
      view.setUint16(8, Math.min(count, U16_MAX), true);
      view.setUint16(10, Math.min(count, U16_MAX), true);
      view.setUint32(12, Math.min(cdSize, U32_MAX), true);
      view.setUint32(16, Math.min(cdOffset, U32_MAX), true);
      chunks.push(eocd);
      await this.write(chunks);
    } finally {
      await this.file.close();
    }
  }

  /** Closes the file without finishing the archive (after an error). */
  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.file.close();
  }

  private async write(chunks: Uint8Array[]): Promise<void> {
    const total = chunks.reduce((n, c) => n + c.length, 0);
    let done = 0;
    while (done < total) {
      const { bytesWritten } = await this.file.writev(done === 0 ? chunks : [concat(chunks).subarray(done)]);
      done += bytesWritten;
    }
    this.offset += total;
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
