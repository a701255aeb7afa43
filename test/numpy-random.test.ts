import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { correctlyRoundedLog } from '../src/engine/correctly-rounded-log.js';
import { RandomState, latentFromSeed } from '../src/engine/numpy-random.js';
import { ROOT, runPython, skipWithoutNumpy } from './helpers/python.js';

const FIXTURE = `${ROOT}test/fixtures/numpy-random.json`;

interface SeedReference {
  seed: number;
  randn16: number[];
  random_sample8: number[];
  randint: Record<'small_0_10' | 'negative_m5_17' | 'full32_0_2p32' | 'wide_0_3e12', number[]>;
  uniform_m2_3: number[];
}
interface Step {
  call: 'randn' | 'random_sample' | 'randint' | 'standard_normal' | 'uniform';
  n: number;
  low?: number;
  high?: number;
  values: number[];
}
interface Reference {
  int_seeds: SeedReference[];
  array_seeds: { seed: number[]; randn8: number[]; random_sample4: number[] }[];
  mixed: { seed: number; steps: Step[] }[];
  latent_dim: number;
  latent_float32_sha256_16: Record<string, string>;
  latent_seed85_first8: number[];
}

const fixtureText = readFileSync(FIXTURE, 'utf8');
const reference = JSON.parse(fixtureText) as Reference;

/** Bit-exact float64 comparison with the index of the first difference in the message. */
function assertExact(actual: ArrayLike<number>, expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Object.is(actual[i], expected[i]), `${what}[${i}]: got ${actual[i]}, numpy gives ${expected[i]}`);
  }
}

test('randn, random_sample, randint and uniform match numpy bit for bit for integer seeds', () => {
  assert.equal(reference.int_seeds.length, 6);
  for (const r of reference.int_seeds) {
    assertExact(new RandomState(r.seed).randn(16), r.randn16, `seed ${r.seed} randn`);
    assertExact(new RandomState(r.seed).random_sample(8), r.random_sample8, `seed ${r.seed} random_sample`);
    assertExact(new RandomState(r.seed).randint(0, 10, 8), r.randint.small_0_10, `seed ${r.seed} randint(0,10)`);
    assertExact(new RandomState(r.seed).randint(-5, 17, 8), r.randint.negative_m5_17, `seed ${r.seed} randint(-5,17)`);
    assertExact(new RandomState(r.seed).randint(0, 2 ** 32, 4), r.randint.full32_0_2p32, `seed ${r.seed} randint(0,2^32)`);
    assertExact(new RandomState(r.seed).randint(0, 3e12, 4), r.randint.wide_0_3e12, `seed ${r.seed} randint(0,3e12)`);
    assertExact(new RandomState(r.seed).uniform(-2, 3, 4), r.uniform_m2_3, `seed ${r.seed} uniform`);
  }
});

test('array seeds follow init_by_array, including keys longer than the 624-word state', () => {
  assert.equal(reference.array_seeds.length, 3);
  for (const r of reference.array_seeds) {
    const name = `seed [${r.seed.slice(0, 4).join(', ')}${r.seed.length > 4 ? ', …' : ''}]`;
    assertExact(new RandomState(r.seed).randn(8), r.randn8, `${name} randn`);
    assertExact(new RandomState(r.seed).random_sample(4), r.random_sample4, `${name} random_sample`);
  }
});

test('the cached second normal survives interleaved calls exactly as in numpy', () => {
  for (const { seed, steps } of reference.mixed) {
    const rs = new RandomState(seed);
    steps.forEach((s, i) => {
      const what = `seed ${seed} step ${i} ${s.call}`;
      switch (s.call) {
        case 'randn':
          return assertExact(rs.randn(s.n), s.values, what);
        case 'standard_normal':
          return assertExact(rs.standard_normal(s.n), s.values, what);
        case 'random_sample':
          return assertExact(rs.random_sample(s.n), s.values, what);
        case 'randint':
          return assertExact(rs.randint(s.low ?? 0, s.high ?? 0, s.n), s.values, what);
        case 'uniform':
          return assertExact(rs.uniform(s.low ?? 0, s.high ?? 0, s.n), s.values, what);
      }
    });
  }
});

test('re-seeding resets the generator and the Gaussian cache', () => {
  const rs = new RandomState(3);
  const first = rs.randn(3); // odd count: one normal is cached
  rs.seed(3);
  assert.deepEqual(rs.randn(3), first);
});

test('latentFromSeed equals numpy randn(1, 512).astype(float32) for seeds 0..199', () => {
  const digests = Object.entries(reference.latent_float32_sha256_16);
  assert.equal(digests.length, 200);
  for (const [seed, digest] of digests) {
    const z = latentFromSeed(Number(seed), reference.latent_dim);
    assert.equal(z.length, 512);
    const bytes = Buffer.from(z.buffer, z.byteOffset, z.byteLength); // little-endian host
    assert.equal(createHash('sha256').update(bytes).digest('hex').slice(0, 16), digest, `seed ${seed}`);
  }
  assertExact(latentFromSeed(85).subarray(0, 8), reference.latent_seed85_first8, 'seed 85 latent');
});

test('invalid seeds and arguments are rejected with numpy-like messages', () => {
  const range = /seed must be an integer between 0 and 2\*\*32 - 1/;
  assert.throws(() => new RandomState(-1), range);
  assert.throws(() => new RandomState(2 ** 32), range);
  assert.throws(() => new RandomState(1.5), range);
  assert.throws(() => new RandomState([1, -2]), range);
  assert.throws(() => new RandomState([]), /seed array must not be empty/);
  assert.throws(() => new RandomState(0).randint(5, 5, 1), /low >= high \(low=5, high=5\)/);
  assert.throws(() => new RandomState(0).randn(2, -1), /invalid dimension -1 in shape \[2, -1\]/);
});

test('correctlyRoundedLog: exact cases, special values, and agreement with decimal references', () => {
  assert.equal(correctlyRoundedLog(1), 0);
  assert.equal(correctlyRoundedLog(0), -Infinity);
  assert.ok(Number.isNaN(correctlyRoundedLog(-1)));
  assert.equal(correctlyRoundedLog(Infinity), Infinity);
  // ln 2 and ln 10 rounded to double (public constants); ln of the smallest subnormal, 2^-1074.
  assert.equal(correctlyRoundedLog(2), Math.LN2);
  assert.equal(correctlyRoundedLog(10), Math.LN10);
  assert.equal(correctlyRoundedLog(5e-324), -744.4400719213812);
  // Arguments where V8's Math.log is one ulp off; values from Python's decimal module at 50 digits.
  assert.equal(correctlyRoundedLog(0.832619845547938), -0.18317810887244365);
  assert.equal(correctlyRoundedLog(0.6169339968747569), -0.4829932350699631);
  assert.equal(correctlyRoundedLog(0.3637107709426226), -1.0113963125181036);
});

test('the fixture is what tools/numpy-reference.py prints', { skip: skipWithoutNumpy() }, () => {
  assert.deepEqual(JSON.parse(runPython(`${ROOT}tools/numpy-reference.py`, [], true)), reference);
});
