/**
 * Filling a network's variable straight from the pickle file: a numpy array whose data `readPickleFile` left in the
 * file (its `payload`) is read in bounded chunks and each chunk copied into its place in the tensor, so the import
 * holds neither the file's bytes nor a second copy of the weights (peak memory: the networks plus one chunk).
 */
import * as E from '../../engine/index.js';
import type { Tensor } from '../../engine/index.js';
import { elementCount, ITEM_SIZE, type ArrayRecord } from '../array-data.js';

/** Bytes read from the file at a time. */
const CHUNK_BYTES = 4 << 20;
/** The one chunk buffer, allocated on first use and reused (a fresh one per array would wait for the GC). */
let chunkBuffer: Uint8Array | undefined;

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Copies the array's data from the file into `target` when it can be copied as it is: data left in the file, C
 * order, the target's dtype and shape, a contiguous target. Returns false (and touches nothing) otherwise; the
 * caller then converts the array the ordinary way, and the network's checks report any mismatch.
 */
export function fillFromFile(target: Tensor, a: ArrayRecord): boolean {
  if (a.kind !== 'ndarray' || !a.payload || a.fortranOrder) return false;
  if (a.dtype !== target.dtype || !sameShape(a.shape, target.shape) || !target.isContiguous()) return false;
  const { source, offset } = a.payload;
  const count = elementCount(a.shape);
  const size = ITEM_SIZE[a.dtype];
  const perChunk = Math.floor(CHUNK_BYTES / size);
  const chunk = (chunkBuffer ??= new Uint8Array(CHUNK_BYTES));
  E.tidy(() => {
    const flat = target.reshape(-1);
    source.reading((readAt) => {
      for (let start = 0; start < count; start += perChunk) {
        const n = Math.min(perChunk, count - start);
        const bytes = chunk.subarray(0, n * size);
        readAt(offset + start * size, bytes);
        E.tidy(() => {
          E.noGrad(() => { flat.narrow(0, start, n).copy_(E.fromTypedArray(bytes, [n], target.dtype)); });
        });
      }
    });
  });
  return true;
}
