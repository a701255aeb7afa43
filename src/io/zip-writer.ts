/**
 * Writing ZIP archives (`ZipWriter`): stored (uncompressed) entries only, like stylegan2-ada-pytorch's dataset_tool;
 * PNG data is already compressed. ZIP64 records are written when the entry count or an offset needs them. Timestamps
 * are fixed (1980-01-01) so the same input gives the same bytes.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { concatArrays } from './concat.js';
import { SIG_LOCAL, SIG_CENTRAL, SIG_EOCD, SIG_ZIP64_EOCD, SIG_ZIP64_LOCATOR, ZIP64_EXTRA_ID, U16_MAX, U32_MAX, EOCD_SIZE, LOCAL_HEADER_SIZE, CENTRAL_HEADER_SIZE, ZIP64_EOCD_SIZE, ZIP64_LOCATOR_SIZE, FLAG_UTF8, METHOD_STORED, DOS_DATE_1980 } from './zip-format.js';

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
      const { bytesWritten } = await this.file.writev(done === 0 ? chunks : [concatArrays(chunks).subarray(done)]);
      done += bytesWritten;
    }
    this.offset += total;
  }
}

