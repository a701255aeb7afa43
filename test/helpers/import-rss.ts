/**
 * Child process of the import memory test: loads libtorch, imports the official pickle given as first argument from
 * its file, writes the networks as a checkpoint to the second argument (what `stylegan import` does), and prints
 * {baselineBytes, peakBytes, peakAfterSaveBytes, parameters} as JSON. The baseline is the resident set once libtorch
 * is loaded; the peaks are the process's high-water mark (VmHWM) after the import and after the write.
 */
import { readFileSync } from 'node:fs';
import * as E from '../../src/engine/index.js';
import { importOfficialFile } from '../../src/io/import-official.js';
import { saveCheckpoint } from '../../src/io/checkpoint.js';

/** A field of /proc/self/status in bytes (the kernel reports kB). */
function status(field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error(`/proc/self/status has no ${field}`);
  return Number(m[1]) * 1024;
}

E.zeros([1]).dispose();
const baselineBytes = status('VmRSS');
const imported = await importOfficialFile(process.argv[2]!);
const peakBytes = status('VmHWM');
const parameters = (['G', 'D', 'Gs'] as const).reduce((n, role) => n + (imported[role]?.numParams() ?? 0), 0);
await saveCheckpoint(process.argv[3]!, { config: imported.config, nets: imported, metadata: imported.metadata });
const peakAfterSaveBytes = status('VmHWM');
imported.dispose();
process.stdout.write(`${JSON.stringify({ baselineBytes, peakBytes, peakAfterSaveBytes, parameters })}\n`);
