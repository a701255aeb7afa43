/** Record signatures, sizes, flags and limits of the ZIP format (PKWARE's APPNOTE.TXT), shared by the reader and writer. */
export const SIG_LOCAL = 0x04034b50;
export const SIG_CENTRAL = 0x02014b50;
export const SIG_EOCD = 0x06054b50;
export const SIG_ZIP64_EOCD = 0x06064b50;
export const SIG_ZIP64_LOCATOR = 0x07064b50;
export const ZIP64_EXTRA_ID = 0x0001;
export const U16_MAX = 0xffff;
export const U32_MAX = 0xffffffff;
export const EOCD_SIZE = 22;
export const LOCAL_HEADER_SIZE = 30;
export const CENTRAL_HEADER_SIZE = 46;
export const ZIP64_EOCD_SIZE = 56;
export const ZIP64_LOCATOR_SIZE = 20;
export const FLAG_ENCRYPTED = 0x0001;
export const FLAG_UTF8 = 0x0800;
export const METHOD_STORED = 0;
export const METHOD_DEFLATE = 8;
/** Deflate cannot expand data by more than this factor. */
export const MAX_DEFLATE_RATIO = 1032;
/** Bytes read at once when an archive is scanned forward, and how far ahead a read may start to count as a scan. */
export const READ_AHEAD = 1 << 20;
export const READ_AHEAD_GAP = 1 << 18;
/** DOS date of 1980-01-01 00:00:00 (day 1, month 1, year 0). */
export const DOS_DATE_1980 = (1 << 5) | 1;
