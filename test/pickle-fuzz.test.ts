/**
 * Fuzzing the pickle reader with damaged copies of the fixtures: truncated, byte-flipped, and with
 * opcodes swapped, dropped, duplicated or inserted (seeded, so every run tries the same inputs).
 * Each input must either parse or fail with a PickleError that the reader raised on purpose, quickly,
 * and without ever resolving a global outside the reviewed allow-list.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  contiguousBytes, isRecord, pickleOps, PickleError, readPickleBytes, type PickleOp, type PickleValue,
} from '../src/io/pickle.js';
import { fixtureBytes, fixtureFiles, REVIEWED_GLOBALS } from './helpers/pickle-fixtures.js';
import { seededRandom } from './helpers/seeded.js';

type Random = () => number;
const pick = (rand: Random, n: number): number => Math.floor(rand() * n);

/** Opcodes worth inserting: containers, memo, objects and framing. */
const INSERTABLE = [0x28, 0x2e, 0x30, 0x31, 0x32, 0x4e, 0x52, 0x61, 0x62, 0x65, 0x73, 0x74, 0x75, 0x29, 0x5d, 0x7d,
  0x81, 0x85, 0x86, 0x87, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x51, 0x68, 0x88];

function truncate(base: Uint8Array, rand: Random): Uint8Array {
  return base.slice(0, pick(rand, base.length));
}

function flipBytes(base: Uint8Array, rand: Random): Uint8Array {
  const out = base.slice();
  for (let n = 1 + pick(rand, 4); n > 0; n--) out[pick(rand, out.length)] = pick(rand, 256);
  return out;
}

/** Swaps, drops, duplicates, moves or inserts whole opcodes (with their arguments). */
function shuffleOps(base: Uint8Array, ops: PickleOp[], rand: Random): Uint8Array {
  const spans = ops.map((op) => base.subarray(op.offset, op.end));
  const i = pick(rand, spans.length);
  const j = pick(rand, spans.length);
  switch (pick(rand, 5)) {
    case 0: [spans[i], spans[j]] = [spans[j], spans[i]]; break;
    case 1: spans.splice(i, 1); break;
    case 2: spans.splice(i, 0, spans[i]); break;
    case 3: spans.splice(j, 0, ...spans.splice(i, 1)); break;
    default: spans.splice(i, 0, Uint8Array.of(INSERTABLE[pick(rand, INSERTABLE.length)]));
  }
  const out = new Uint8Array(spans.reduce((n, s) => n + s.length, 0));
  let at = 0;
  for (const s of spans) {
    out.set(s, at);
    at += s.length;
  }
  return out;
}

/** Reads every array record reachable from a parsed value (parsed records must be safe to use). */
function touchArrays(root: PickleValue): number {
  const seen = new Set<unknown>();
  const todo: PickleValue[] = [root];
  let arrays = 0;
  while (todo.length > 0) {
    const v = todo.pop() as PickleValue;
    if (typeof v !== 'object' || v === null || seen.has(v)) continue;
    seen.add(v);
    if (isRecord(v)) {
      if (v.kind === 'ndarray' || v.kind === 'tensor') {
        contiguousBytes(v);
        arrays++;
      } else if (v.kind === 'object') {
        todo.push(...v.args);
        if (v.state !== undefined) todo.push(v.state);
      } else if (v.kind === 'persistent') {
        todo.push(v.state);
      }
    } else if (v instanceof Map) {
      for (const [k, x] of v) todo.push(k, x);
    } else if (v instanceof Set || Array.isArray(v)) {
      todo.push(...v);
    }
  }
  return arrays;
}

// Bounded time is the test's timeout (no timed assertions: the machine may be loaded); speed belongs to benchmarks.
test('damaged fixtures parse or fail cleanly and only resolve allowed globals', { timeout: 120_000 }, () => {
  const rand = seededRandom(20240611);
  let parsed = 0;
  let refused = 0;
  const problems: string[] = [];
  for (const { fixture, variant, path } of fixtureFiles()) {
    const base = fixtureBytes(path);
    const ops = path.endsWith('.pkl') ? pickleOps(base) : null;
    const variants = base.length > 40_000 ? 250 : 400;
    for (let k = 0; k < variants; k++) {
      const kind = pick(rand, ops ? 3 : 2);
      const input = kind === 0 ? truncate(base, rand) : kind === 1 ? flipBytes(base, rand) : shuffleOps(base, ops as PickleOp[], rand);
      const label = `${fixture}/${variant} #${k} (${['truncated', 'flipped', 'shuffled'][kind]})`;
      const resolved: string[] = [];
      try {
        touchArrays(readPickleBytes(input, { onGlobal: (m, n) => resolved.push(`${m}.${n}`) }));
        parsed++;
      } catch (e) {
        refused++;
        if (!(e instanceof PickleError) || !e.message.startsWith('pickle: ') || e.message.includes('internal failure')) {
          problems.push(`${label}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
        }
      }
      for (const g of resolved) if (!REVIEWED_GLOBALS.has(g)) problems.push(`${label}: resolved '${g}'`);
    }
  }
  assert.deepEqual(problems.slice(0, 20), []);
  assert.ok(parsed > 100 && refused > 1000, `both outcomes occur (parsed ${parsed}, refused ${refused})`);
});
