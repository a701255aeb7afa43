/**
 * ZIP archives written byte by byte, so that a test can make them lie: central-directory sizes other than the
 * data's, and deflate streams of any length (made without holding the inflated bytes).
 */
import { createDeflateRaw, crc32 } from 'node:zlib';

export interface RawEntry {
  name: string;
  /** The bytes stored in the archive (already deflated when method is 8). */
  stored: Uint8Array;
  method?: 0 | 8;
  /** CRC-32 of the inflated bytes (default: of `stored`). */
  crc?: number;
  /** Sizes written in the headers (default: the true ones for a stored entry). */
  size?: number;
  compressedSize?: number;
}

/** A ZIP archive of `entries` with the sizes they claim. */
export function rawZip(entries: readonly RawEntry[]): Uint8Array {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const size = e.size ?? e.stored.length;
    const compressed = e.compressedSize ?? e.stored.length;
    const crc = e.crc ?? crc32(e.stored);
    /** Version, method, CRC-32, sizes and name length: the fields both headers share, at their offsets in each. */
    const header = (length: number, signature: number, versions: number, fields: number): Buffer => {
      const b = Buffer.alloc(length);
      b.writeUInt32LE(signature, 0);
      for (let i = 0; i < versions; i++) b.writeUInt16LE(20, 4 + 2 * i);
      b.writeUInt16LE(e.method ?? 0, fields);
      [crc, Math.min(compressed, 0xffffffff), Math.min(size, 0xffffffff)].forEach((v, i) => b.writeUInt32LE(v, fields + 6 + 4 * i));
      b.writeUInt16LE(name.length, fields + 18);
      return b;
    };
    const local = header(30, 0x04034b50, 1, 8);
    const cd = header(46, 0x02014b50, 2, 10);
    cd.writeUInt32LE(offset, 42);
    parts.push(local, name, Buffer.from(e.stored));
    central.push(cd, name);
    offset += 30 + name.length + e.stored.length;
  }
  const cdBytes = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cdBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cdBytes, end]);
}

/** A raw deflate stream of `length` zero bytes and its CRC-32, made in 1 MiB steps. */
export async function deflatedZeros(length: number): Promise<{ stored: Uint8Array; crc: number }> {
  const chunk = Buffer.alloc(1 << 20);
  let crc = 0;
  const deflate = createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  deflate.on('data', (b: Buffer) => out.push(b));
  const done = new Promise<void>((resolve, reject) => {
    deflate.on('end', resolve);
    deflate.on('error', reject);
  });
  for (let left = length; left > 0; left -= chunk.length) {
    const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
    crc = crc32(piece, crc);
    if (!deflate.write(piece)) await new Promise((resolve) => deflate.once('drain', resolve));
  }
  deflate.end();
  await done;
  return { stored: Buffer.concat(out), crc };
}
