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
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OMP_') && !k.startsWith('STYLEGAN_'))) as Record<string, string>;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `const E = await import(${JSON.stringify(engine)}); console.log(${expr});`], { env: { ...base, ...env }, encoding: 'utf8' });
  return { out: r.stdout.trim(), err: r.stderr, code: r.status };
}

test('the engine sets a passive OpenMP wait before libtorch loads, unless told otherwise', () => {
  assert.equal(inFreshProcess({}, 'process.env.OMP_WAIT_POLICY').out, 'PASSIVE');
  assert.equal(inFreshProcess({ OMP_WAIT_POLICY: 'ACTIVE' }, 'process.env.OMP_WAIT_POLICY').out, 'ACTIVE');
  assert.equal(inFreshProcess({ STYLEGAN_OMP_WAIT: 'ACTIVE' }, 'process.env.OMP_WAIT_POLICY').out, 'ACTIVE');
});

test('STYLEGAN_CPU_ALLOCATOR picks the allocator; a bad value is refused', () => {
  assert.equal(inFreshProcess({ STYLEGAN_CPU_ALLOCATOR: 'system' }, 'E.cpuAllocator()').out, 'system');
  const bad = inFreshProcess({ STYLEGAN_CPU_ALLOCATOR: 'tcmalloc' }, 'E.cpuAllocator()');
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /STYLEGAN_CPU_ALLOCATOR: expected 'caching' or 'system', got 'tcmalloc'/);
});
