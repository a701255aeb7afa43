/**
 * numpy's legacy `numpy.random.RandomState`, re-implemented exactly.
 *
 * NVIDIA's ProGAN/StyleGAN scripts draw latents with `np.random.RandomState(seed).randn(1, 512)`; this module
 * reproduces those numbers so that "seed 85" means the same image here as in the official code.
 *
 * What is reproduced (numpy 1.17+ `RandomState`, whose legacy stream is frozen):
 * - MT19937 with numpy's seeding: an integer seed 0 … 2^32−1 goes through `mt19937_seed` (Matsumoto–Nishimura
 *   `init_genrand`); an array of such integers goes through `init_by_array`. Other seeds are rejected, as numpy does.
 * - `random_sample`: a 53-bit double from two 32-bit outputs a, b: ((a >>> 5)·2^26 + (b >>> 6)) / 2^53.
 * - `randn`/`standard_normal`: the polar Box–Muller method of `legacy_gauss`, which yields two normals per
 *   accepted pair and caches the second one (the `has_gauss`/`gauss` state) for the next call, across calls.
 * - `randint(low, high, n)`: numpy's default int64 path with masked rejection sampling.
 * - `uniform(low, high, n)`: low + (high − low) · random_sample.
 *
 * Exactness: every step is exact IEEE arithmetic except `log` in `legacy_gauss`, which numpy takes from the C
 * library. We use a correctly rounded log; glibc's agrees with it except for about 3 in 10,000 arguments, where
 * glibc itself misrounds and the normal pair differs from glibc-built numpy by one float64 ulp. Latents cast to
 * float32 (what the networks consume) are identical.
 */
import { correctlyRoundedLog } from './correctly-rounded-log.js';

/** MT19937 parameters (Matsumoto & Nishimura 1998). */
const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;
const UINT32_LIMIT = 0x1_0000_0000;

function checkSeedWord(value: number): number {
  if (!Number.isInteger(value) || value < 0 || value >= UINT32_LIMIT) {
    throw new Error(`RandomState: seed must be an integer between 0 and 2**32 - 1, got ${value}`);
  }
  return value;
}

/** The Mersenne Twister MT19937: 624 words of state and the position of the next output. */
class MT19937 {
  readonly key = new Uint32Array(N);
  pos = N;

  /** `init_genrand`: numpy's `mt19937_seed` for an integer seed. */
  seedInteger(seed: number): void {
    const key = this.key;
    key[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = key[i - 1];
      key[i] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + i) >>> 0;
    }
    this.pos = N;
  }

  /** `init_by_array`: numpy's seeding for an array of 32-bit words. */
  seedArray(words: readonly number[]): void {
    this.seedInteger(19650218);
    const key = this.key;
    const length = words.length;
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, length); k > 0; k--) {
      const prev = key[i - 1] ^ (key[i - 1] >>> 30);
      key[i] = ((key[i] ^ Math.imul(prev, 1664525)) + words[j] + j) >>> 0;
      i++;
      j++;
      if (i >= N) {
        key[0] = key[N - 1];
        i = 1;
      }
      if (j >= length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = key[i - 1] ^ (key[i - 1] >>> 30);
      key[i] = ((key[i] ^ Math.imul(prev, 1566083941)) - i) >>> 0;
      i++;
      if (i >= N) {
        key[0] = key[N - 1];
        i = 1;
      }
    }
    key[0] = UPPER_MASK; // most significant bit set: a non-zero initial state
    this.pos = N;
  }

  /** Regenerates all 624 words (the "twist"). */
  private twist(): void {
    const key = this.key;
    for (let i = 0; i < N; i++) {
      const y = (key[i] & UPPER_MASK) | (key[(i + 1) % N] & LOWER_MASK);
      key[i] = key[(i + M) % N] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    this.pos = 0;
  }

  /** The next tempered 32-bit output, as an unsigned number. */
  nextUint32(): number {
    if (this.pos === N) this.twist();
    let y = this.key[this.pos++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** A double in [0, 1) with 53 random bits. */
  nextDouble(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** A 64-bit output (first word high) as a BigInt. */
  nextUint64(): bigint {
    const high = this.nextUint32();
    return (BigInt(high) << 32n) | BigInt(this.nextUint32());
  }
}

function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`RandomState: invalid dimension ${d} in shape [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}

/** Smallest all-ones bit mask covering `range`. */
function maskFor(range: bigint): bigint {
  let mask = range;
  for (let shift = 1n; shift <= 32n; shift *= 2n) mask |= mask >> shift;
  return mask;
}

/** numpy's legacy `RandomState`, seeded like `np.random.RandomState(seed)`. */
export class RandomState {
  private readonly mt = new MT19937();
  /** The cached second normal of the last polar Box–Muller pair (`has_gauss`/`gauss` in numpy). */
  private hasGauss = false;
  private gauss = 0;

  /** `seed`: an integer 0 … 2^32−1 (init_genrand) or an array of such integers (init_by_array). */
  constructor(seed: number | readonly number[]) {
    this.seed(seed);
  }

  /** Re-seeds, resetting the Gaussian cache, like `RandomState.seed(seed)`. */
  seed(seed: number | readonly number[]): void {
    if (typeof seed === 'number') {
      this.mt.seedInteger(checkSeedWord(seed));
    } else {
      if (seed.length === 0) throw new Error('RandomState: seed array must not be empty');
      this.mt.seedArray(seed.map(checkSeedWord));
    }
    this.hasGauss = false;
    this.gauss = 0;
  }

  /** Uniform doubles in [0, 1), like `random_sample(n)`. */
  random_sample(n: number): Float64Array {
    const out = new Float64Array(sizeOf([n]));
    for (let i = 0; i < out.length; i++) out[i] = this.mt.nextDouble();
    return out;
  }

  /** Uniform doubles in [low, high), like `uniform(low, high, n)`. */
  uniform(low: number, high: number, n: number): Float64Array {
    const range = high - low;
    if (!Number.isFinite(range)) throw new Error(`RandomState.uniform: range high - low must be finite, got ${range}`);
    const out = new Float64Array(sizeOf([n]));
    for (let i = 0; i < out.length; i++) out[i] = low + range * this.mt.nextDouble();
    return out;
  }

  /** One standard normal: numpy's `legacy_gauss` (polar Box–Muller with a cached second value). */
  private gaussian(): number {
    if (this.hasGauss) {
      this.hasGauss = false;
      const cached = this.gauss;
      this.gauss = 0;
      return cached;
    }
    let x1: number;
    let x2: number;
    let r2: number;
    do {
      x1 = 2.0 * this.mt.nextDouble() - 1.0;
      x2 = 2.0 * this.mt.nextDouble() - 1.0;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 === 0.0);
    const f = Math.sqrt((-2.0 * correctlyRoundedLog(r2)) / r2);
    this.gauss = f * x1;
    this.hasGauss = true;
    return f * x2;
  }

  /** Standard normals in C order for the given shape, like `randn(*shape)`; no shape gives one value. */
  randn(...shape: number[]): Float64Array {
    const out = new Float64Array(sizeOf(shape));
    for (let i = 0; i < out.length; i++) out[i] = this.gaussian();
    return out;
  }

  /** Standard normals for the given shape, like `standard_normal(shape)` (the same stream as `randn`). */
  standard_normal(shape: number | readonly number[]): Float64Array {
    return this.randn(...(typeof shape === 'number' ? [shape] : shape));
  }

  /**
   * Integers in [low, high), like `randint(low, high, n)` with numpy's default int64 dtype (masked rejection
   * sampling: ranges below 2^32 draw one 32-bit word per try, larger ones a 64-bit word). Bounds must be safe
   * integers; the values are returned as exact doubles.
   */
  randint(low: number, high: number, n: number): Float64Array {
    if (!Number.isSafeInteger(low) || !Number.isSafeInteger(high)) {
      throw new Error(`RandomState.randint: bounds must be safe integers, got low=${low}, high=${high}`);
    }
    if (low >= high) throw new Error(`RandomState.randint: low >= high (low=${low}, high=${high})`);
    const out = new Float64Array(sizeOf([n]));
    const range = high - low - 1; // inclusive range, as numpy's bounded generators take it
    if (range === 0) {
      out.fill(low);
    } else if (range < UINT32_LIMIT) {
      const mask = Number(maskFor(BigInt(range)));
      for (let i = 0; i < out.length; i++) {
        let v: number;
        do v = (this.mt.nextUint32() & mask) >>> 0;
        while (v > range);
        out[i] = low + v;
      }
    } else {
      const bigRange = BigInt(range);
      const mask = maskFor(bigRange);
      for (let i = 0; i < out.length; i++) {
        let v: bigint;
        do v = this.mt.nextUint64() & mask;
        while (v > bigRange);
        out[i] = low + Number(v);
      }
    }
    return out;
  }
}

/** The latent NVIDIA's scripts use for a seed: `RandomState(seed).randn(1, dim)` cast to float32. */
export function latentFromSeed(seed: number, dim = 512): Float32Array {
  return Float32Array.from(new RandomState(seed).randn(1, dim));
}
