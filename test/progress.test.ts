import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './helpers/python.js';

const PROGRESS = pathToFileURL(join(ROOT, 'dist', 'src', 'cli', 'progress.js')).href;
const SCRIPT = '/usr/bin/script';

/** A training run's display: a tick line before the first update, two updates around a second tick, the end. */
const TRAINING = `
import { progressDisplay } from '${PROGRESS}';
const p = progressDisplay({ label: 'train', unit: 'kimg', total: 0, status: true, lineEverySec: 0 });
p.log('tick 0 first');
p.update(0.5, 2, '0.5/2 kimg | G 0.700 D 1.400');
p.log('tick 1 second');
p.update(1, 2, '1.0/2 kimg | G 0.600 D 1.300');
p.stop();
p.stop();
`;

/** stderr of `code` run as an ES module, with stderr a pipe. */
function stderrOf(code: string): string {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stderr;
}

test('progress without a terminal: plain lines, the status as it stands, logged lines in between', () => {
  assert.equal(stderrOf(TRAINING), [
    'tick 0 first', 'train: 0.5/2 kimg | G 0.700 D 1.400', 'tick 1 second', 'train: 1.0/2 kimg | G 0.600 D 1.300',
    'train: 1.0/2 kimg | G 0.600 D 1.300', '',
  ].join('\n'));
  const counted = `
import { progressDisplay } from '${PROGRESS}';
const p = progressDisplay({ label: 'generate', unit: 'images', total: 10, lineEverySec: 0 });
p.update(3, 10, 'seed 3');
p.update(10);
p.stop();
`;
  assert.equal(stderrOf(counted), 'generate: 3/10 images seed 3\ngenerate: 10/10 images\ngenerate: 10/10 images\n');
});

test('progress on a terminal: a logged line takes the bar\'s line and the bar goes on below it', { skip: !existsSync(SCRIPT) && `no ${SCRIPT} (util-linux) to run under a pseudo-terminal` }, () => {
  const r = spawnSync(SCRIPT, ['-qec', '"$NODE" --input-type=module -e "$CODE"', '/dev/null'], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE: process.execPath, CODE: TRAINING },
  });
  assert.equal(r.status, 0, r.stderr);
  const out = r.stdout;
  // Before the first update there is no bar: the line is plain.
  assert.ok(out.startsWith('tick 0 first\r\n'), JSON.stringify(out.slice(0, 40)));
  // The bar is drawn at 25 %, ends on its line, and the cursor goes back up to replace it with the tick line.
  const at = out.indexOf('\x1b[1A\r\x1b[2Ktick 1 second\r\n');
  assert.ok(at > 0 && out.lastIndexOf(' 25% | 0.5/2 kimg | G 0.700 D 1.400', at) > 0, JSON.stringify(out));
  // Below it the bar goes on to 50 % with the new status.
  assert.ok(out.indexOf(' 50% | 1.0/2 kimg | G 0.600 D 1.300', at) > at, JSON.stringify(out));
});
