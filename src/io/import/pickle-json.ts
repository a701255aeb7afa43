/** Pickle values as JSON, for reports and checkpoint metadata (static kwargs, module attributes). */
import { elementCount, scalarValue, type ArrayRecord } from '../array-data.js';
import { describe, isBytes, isRecord, type PickleValue } from '../pickle-types.js';
import { ExpansionBudget } from '../limits.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A short description of an array record: `float32 [512, 512]` (0-d records give their value). */
export function arraySummary(a: ArrayRecord): string {
  if (elementCount(a.shape) === 1 && a.shape.length === 0) return `${a.dtype} ${String(scalarValue(a))}`;
  return `${a.dtype} [${a.shape.join(', ')}]`;
}

/**
 * Plain values as JSON: dicts become objects (keys as strings), lists and tuples arrays, big ints decimal strings,
 * non-finite floats the strings 'inf' / '-inf' / 'nan', numpy scalars their value, and anything else (bytes,
 * arrays, objects) a short description in a string. The conversion spends `budget` (limits.ts): shared references
 * are expanded, so each is counted every time it is reached, and a cycle ends at the depth bound.
 */
export function pickleToJson(v: PickleValue | undefined, budget: ExpansionBudget): JsonValue {
  return toJson(v, budget, 0);
}

function toJson(v: PickleValue | undefined, budget: ExpansionBudget, depth: number): JsonValue {
  budget.visit(depth);
  if (v === undefined || v === null) return null;
  if (typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return v.map((x: PickleValue) => toJson(x, budget, depth + 1));
  if (v instanceof Map) {
    const out: Record<string, JsonValue> = {};
    for (const [k, x] of v) out[typeof k === 'string' || typeof k === 'number' ? String(k) : describe(k)] = toJson(x, budget, depth + 1);
    return out;
  }
  if (isRecord(v) && v.kind === 'ndarray' && v.isScalar) return toJson(scalarValue(v) as number | bigint | boolean, budget, depth + 1);
  if (isRecord(v) && (v.kind === 'ndarray' || v.kind === 'tensor')) return `<${arraySummary(v)}>`;
  if (isBytes(v)) return `<${v.length} bytes>`;
  return `<${describe(v)}>`;
}
