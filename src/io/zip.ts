/**
 * A small ZIP reader: reads the central directory and returns entry data. Stored entries come back as
 * zero-copy views into the input; deflated ones are inflated with fflate. ZIP64 sizes and offsets are
 * understood. Encrypted entries are refused. CRCs are not checked.
 */
import { inflateSync } from 'fflate';

export class ZipError extends Error {
  constructor(detail: string) {
    super(`zip: ${detail}`);
    this.name = 'ZipError';
  }
}

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflated. */
  method: number;
  compressedSize: number;
  size: number;
  /** Offset of the entry's (compressed) data in the archive. */
  dataOffset: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const SIG_END64 = 0x06064b50;
const SIG_END64_LOCATOR = 0x07064b50;
const MAX_COMMENT = 0xffff;
/** Deflate cannot expand data by more than this factor. */
const MAX_DEFLATE_RATIO = 1032;

class Bytes {
  readonly view: DataView;

  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  check(offset: number, n: number, what: string): void {
    if (offset < 0 || offset + n > this.buf.length) throw new ZipError(`${what} lies outside the file`);
  }

  u16(offset: number): number { return this.view.getUint16(offset, true); }
  u32(offset: number): number { return this.view.getUint32(offset, true); }

  u64(offset: number, what: string): number {
    const v = this.view.getBigUint64(offset, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError(`${what} is too large`);
    return Number(v);
  }
}

function findEnd(b: Bytes): number {
  const last = b.buf.length - 22;
  for (let p = last; p >= 0 && p >= last - MAX_COMMENT; p--) {
    if (b.u32(p) === SIG_END) return p;
  }
  throw new ZipError('end of central directory not found (not a zip file?)');
}

/** Number of entries, size and offset of the central directory, from the (ZIP64) end records. */
function centralDirectory(b: Bytes): { count: number; size: number; offset: number } {
  const end = findEnd(b);
  let count = b.u16(end + 10);
  let size = b.u32(end + 12);
  let offset = b.u32(end + 16);
  if (count === 0xffff || size === 0xffffffff || offset === 0xffffffff) {
    const locator = end - 20;
    b.check(locator, 20, 'ZIP64 end locator');
    if (b.u32(locator) !== SIG_END64_LOCATOR) throw new ZipError('ZIP64 end locator missing');
    const end64 = b.u64(locator + 8, 'ZIP64 end offset');
    b.check(end64, 56, 'ZIP64 end record');
    if (b.u32(end64) !== SIG_END64) throw new ZipError('ZIP64 end record missing');
    count = b.u64(end64 + 32, 'entry count');
    size = b.u64(end64 + 40, 'central directory size');
    offset = b.u64(end64 + 48, 'central directory offset');
  }
  b.check(offset, size, 'central directory');
  return { count, size, offset };
}

/** Sizes and local-header offset, with 0xffffffff fields taken from the ZIP64 extra field. */
function zip64Fields(b: Bytes, extra: number, extraLen: number, fields: number[]): number[] {
  const out = [...fields];
  for (let p = extra; p + 4 <= extra + extraLen;) {
    const id = b.u16(p);
    const len = b.u16(p + 2);
    if (p + 4 + len > extra + extraLen) throw new ZipError('extra field overruns its entry');
    if (id === 0x0001) {
      let q = p + 4;
      for (let i = 0; i < out.length; i++) {
        if (out[i] !== 0xffffffff) continue;
        if (q + 8 > p + 4 + len) throw new ZipError('ZIP64 extra field too short');
        out[i] = b.u64(q, 'ZIP64 field');
        q += 8;
      }
    }
    p += 4 + len;
  }
  return out;
}

/** All entries of an archive, by name. */
export function readZipDirectory(buf: Uint8Array): Map<string, ZipEntry> {
  const b = new Bytes(buf);
  if (buf.length < 22) throw new ZipError('file too short');
  const dir = centralDirectory(b);
  const names = new TextDecoder('utf-8');
  const entries = new Map<string, ZipEntry>();
  let p = dir.offset;
  for (let i = 0; i < dir.count; i++) {
    b.check(p, 46, 'central directory entry');
    if (b.u32(p) !== SIG_CENTRAL) throw new ZipError(`central directory entry ${i} is corrupt`);
    const flags = b.u16(p + 8);
    const method = b.u16(p + 10);
    const nameLen = b.u16(p + 28);
    const extraLen = b.u16(p + 30);
    const commentLen = b.u16(p + 32);
    b.check(p + 46, nameLen + extraLen + commentLen, 'central directory entry');
    const name = names.decode(buf.subarray(p + 46, p + 46 + nameLen));
    const [size, compressedSize, local] = zip64Fields(b, p + 46 + nameLen, extraLen,
      [b.u32(p + 24), b.u32(p + 20), b.u32(p + 42)]);
    if (flags & 1) throw new ZipError(`entry '${name}' is encrypted`);
    if (method !== 0 && method !== 8) throw new ZipError(`entry '${name}' uses compression method ${method}`);
    b.check(local, 30, `local header of '${name}'`);
    if (b.u32(local) !== SIG_LOCAL) throw new ZipError(`local header of '${name}' is corrupt`);
    const dataOffset = local + 30 + b.u16(local + 26) + b.u16(local + 28);
    b.check(dataOffset, compressedSize, `data of '${name}'`);
    entries.set(name, { name, method, compressedSize, size, dataOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** The uncompressed bytes of an entry (a view into `buf` for stored entries). */
export function zipEntryData(buf: Uint8Array, entry: ZipEntry): Uint8Array {
  const raw = buf.subarray(entry.dataOffset, entry.dataOffset + entry.compressedSize);
  if (entry.method === 0) {
    if (entry.size !== entry.compressedSize) throw new ZipError(`stored entry '${entry.name}' has inconsistent sizes`);
    return raw;
  }
  if (entry.size > raw.length * MAX_DEFLATE_RATIO + 64) throw new ZipError(`entry '${entry.name}' claims an impossible size`);
  let out: Uint8Array;
  try {
    out = inflateSync(raw, { out: new Uint8Array(entry.size) });
  } catch (e) {
    throw new ZipError(`entry '${entry.name}' does not inflate (${(e as Error).message})`);
  }
  if (out.length !== entry.size) throw new ZipError(`entry '${entry.name}' inflates to ${out.length} bytes, expected ${entry.size}`);
  return out;
}
