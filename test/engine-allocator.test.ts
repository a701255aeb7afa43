import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import * as E from '../src/engine/index.js';

test('the caching CPU allocator is the default and reuses a freed large block', () => {
  assert.equal(E.cpuAllocator(), 'caching');
  E.tidy(() => void E.zeros([1 << 20])); // 4 MiB, freed at the end of the scope
  const before = E.cpuCacheStats();
  assert.ok(before.cachedBytes >= 4 << 20, `cached ${before.cachedBytes}`);
  const sum = E.tidy(() => E.full([1 << 20], 3).sum().item());
  assert.equal(sum, 3 * (1 << 20));
  assert.equal(E.cpuCacheStats().hits, before.hits + 1);
  E.emptyCpuCache();
  assert.equal(E.cpuCacheStats().cachedBytes, 0);
});

test('switching allocators keeps live tensors valid; unknown kinds are refused', () => {
  const a = E.full([1 << 20], 2);
  E.setCpuAllocator('system');
  try {
    const b = E.full([1 << 20], 5);
    assert.equal(E.tidy(() => a.add(b).mean().item()), 7);
    a.dispose(); // allocated by the caching allocator, freed while the system one is current
    b.dispose();
  } finally {
    E.setCpuAllocator('caching');
  }
  assert.throws(() => E.setCpuAllocator('jemalloc' as E.CpuAllocator), /setCpuAllocator: expected 'caching' or 'system', got 'jemalloc'/);
});

/** Loads the engine in a fresh Node process with `env` and prints what `expr` evaluates to afterwards. */
function inFreshProcess(env: Record<string, string>, expr: string): { out: string; err: string; code: number | null } {
  const engine = new URL('../src/engine/index.js', import.meta.url).href;
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OMP_') && !k.startsWith('STYLEGAN_') && !k.startsWith('OPENBLAS_'))) as Record<string, string>;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `const E = await import(${JSON.stringify(engine)}); console.log(${expr});`], { env: { ...base, ...env }, encoding: 'utf8' });
  return { out: r.stdout.trim(), err: r.stderr, code: r.status };
}

test('the engine sets a passive OpenMP wait before libtorch loads, unless told otherwise', () => {
  assert.equal(inFreshProcess({}, 'process.env.OMP_WAIT_POLICY').out, 'PASSIVE');
  assert.equal(inFreshProcess({ OMP_WAIT_POLICY: 'ACTIVE' }, 'process.env.OMP_WAIT_POLICY').out, 'ACTIVE');
  assert.equal(inFreshProcess({ STYLEGAN_OMP_WAIT: 'ACTIVE' }, 'process.env.OMP_WAIT_POLICY').out, 'ACTIVE');
});

test('OpenBLAS runs on one thread, raised to the intra-op count inside withBlasThreads; OPENBLAS_NUM_THREADS wins', (t) => {
  if (E.getBlasThreads() === null) return t.skip('the BLAS libtorch links is not OpenBLAS (nothing to set)');
  assert.equal(E.getBlasThreads(), 1);
  const threads = E.getNumThreads();
  const inside = E.withBlasThreads(() => [E.getBlasThreads(), E.withBlasThreads(() => E.getBlasThreads()), E.getBlasThreads()]);
  assert.deepEqual(inside, [threads, threads, threads], 'nested calls keep the count until the outermost returns');
  assert.equal(E.getBlasThreads(), 1);
  assert.throws(() => E.withBlasThreads(() => { throw new Error('boom'); }), /boom/);
  assert.equal(E.getBlasThreads(), 1, 'restored after a throw');
  // OPENBLAS_NUM_THREADS is the user's: the engine neither sets nor raises it.
  assert.equal(inFreshProcess({ OPENBLAS_NUM_THREADS: '2' }, 'E.zeros([1]).dispose() ?? E.withBlasThreads(() => E.getBlasThreads())').out, '2');
  assert.equal(inFreshProcess({}, 'E.zeros([1]).dispose() ?? E.getBlasThreads()').out, '1');
});

test('STYLEGAN_CPU_ALLOCATOR picks the allocator; a bad value is refused', () => {
  assert.equal(inFreshProcess({ STYLEGAN_CPU_ALLOCATOR: 'system' }, 'E.cpuAllocator()').out, 'system');
  const bad = inFreshProcess({ STYLEGAN_CPU_ALLOCATOR: 'tcmalloc' }, 'E.cpuAllocator()');
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /STYLEGAN_CPU_ALLOCATOR: expected 'caching' or 'system', got 'tcmalloc'/);
});

test('the caching allocator keeps a working set larger than its limit, and holds a smaller one to the limit', () => {
  const MiB = 2 ** 20;
  // Each round: two 4 MiB tensors alive at once, then one of 2 MiB. Under a 4 MiB limit that would release the
  // 4 MiB blocks to map the 2 MiB one and the other way round on every round; only the first round may map.
  const loop = inFreshProcess({ STYLEGAN_CPU_CACHE_MB: '4' }, `(() => {
    const round = () => {
      E.tidy(() => { E.zeros([${MiB}]).add_(1); E.zeros([${MiB}]).add_(1); });
      E.tidy(() => void E.zeros([${MiB / 2}]).add_(1));
      return E.cpuCacheStats().misses;
    };
    return JSON.stringify([round(), round(), round()]);
  })()`);
  assert.equal(loop.code, 0, loop.err);
  const [first, second, third] = JSON.parse(loop.out) as number[];
  assert.equal(first, 3, 'the first round maps its three blocks');
  assert.deepEqual([second, third], [first, first], 'later rounds reuse the cached blocks');
  // One tensor at a time of 4, 6, 8 and 10 MiB: 10 MiB in use at most, so at most max(8, 1.5 × 10) MiB stay mapped.
  const sizes = inFreshProcess({ STYLEGAN_CPU_CACHE_MB: '8' }, `(() => {
    for (const mb of [4, 6, 8, 10]) E.tidy(() => void E.zeros([mb * ${MiB / 4}]).add_(1));
    return E.cpuCacheStats().mappedBytes;
  })()`);
  assert.equal(sizes.code, 0, sizes.err);
  assert.ok(Number(sizes.out) <= 15 * MiB, `mapped ${Number(sizes.out) / MiB} MiB`);
});
