import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

/** Runs the CLI with `args` in a fresh process; reports whether libtorch was mapped into it when it exited. */
function run(args: string[]) {
  const script = `
    import { readFileSync } from 'node:fs';
    process.on('exit', () => process.stderr.write('libtorch mapped: ' + /libtorch/.test(readFileSync('/proc/self/maps', 'utf8')) + '\\n'));
    const { main } = await import(${JSON.stringify(MAIN)});
    await main(${JSON.stringify(args)});`;
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
}

test('--help answers without loading libtorch; a command that computes loads it', { skip: !existsSync('/proc/self/maps') && 'needs /proc/self/maps' }, () => {
  for (const args of [['--help'], ['generate', '--help'], ['help', 'train']]) {
    const r = run(args);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Usage: stylegan/);
    assert.match(r.stderr, /libtorch mapped: false\n$/, args.join(' '));
  }
  const r = run(['selfcheck', '--help']);
  assert.match(r.stderr, /libtorch mapped: false\n$/);
  const info = run(['info', fileURLToPath(new URL('../../models/fmnist32-stylegan.safetensors', import.meta.url))]);
  assert.equal(info.status, 0, info.stderr);
  assert.match(info.stderr, /libtorch mapped: true\n$/);
});
