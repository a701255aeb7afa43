import { test } from 'node:test';
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
