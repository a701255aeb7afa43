/**
 * Import benchmark: parse + import of a full-size StyleGAN1 FFHQ-1024 pickle (G, D, Gs with every official variable
 * name and shape, ≈ 325 MB of float32, protocol 4 as the official file), written by
 * `tools/make-pickle-fixtures.py --ffhq1024` into a temporary directory (never committed). The measurement runs in
 * a fresh Node process so that its peak RSS (getrusage maxrss) covers only loading libtorch, parsing and importing.
 *
 * Goals: parse + import ≤ 2 s, peak RSS ≤ 2 × the file size.
 *
 * Run: `npm run bench:import`, or `node dist/bench/import.js [--pickle FILE] [--json]` (--pickle reuses a file).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GENERATOR = join(ROOT, 'tools', 'make-pickle-fixtures.py');
const PYTHON = '/usr/bin/python3';
const GOAL_SECONDS = 2;
const GOAL_RSS_RATIO = 2;

/** What the measuring process reports. */
export interface ImportMeasurement {
  fileBytes: number;
  /** RSS once the engine (libtorch) is loaded, before reading the file. */
  baselineRssBytes: number;
  parseMs: number;
  importMs: number;
  /** Peak RSS of the whole process (getrusage). */
  peakRssBytes: number;
  /** For scale: constructing the same three networks (random initialization) without loading anything. */
  constructMs: number;
  parameters: { G: number; D: number; Gs: number };
}

/** Runs in the child: parse, import, report. */
async function measure(pickle: string): Promise<ImportMeasurement> {
  const E = await import('../src/engine/index.js');
  const { readPickleFile } = await import('../src/io/pickle.js');
  const { importOfficial } = await import('../src/io/import-official.js');
  const { buildDiscriminator, buildGenerator } = await import('../src/nets/index.js');
  E.zeros([1]).dispose();
  const baselineRssBytes = process.memoryUsage().rss;
  const t0 = performance.now();
  const value = await readPickleFile(pickle);
  const t1 = performance.now();
  const imported = importOfficial(value, pickle);
  const t2 = performance.now();
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  const parameters = { G: imported.G!.numParams(), D: imported.D!.numParams(), Gs: imported.Gs!.numParams() };
  const config = imported.config;
  imported.dispose();
  const t3 = performance.now();
  for (const net of [buildGenerator(config), buildDiscriminator(config), buildGenerator(config)]) net.dispose();
  const constructMs = performance.now() - t3;
  return {
    fileBytes: statSync(pickle).size, baselineRssBytes, parseMs: t1 - t0, importMs: t2 - t1, peakRssBytes, constructMs, parameters,
  };
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

export function formatMeasurement(m: ImportMeasurement): string[] {
  const total = (m.parseMs + m.importMs) / 1000;
  const ratio = m.peakRssBytes / m.fileBytes;
  return [
    `file:        ${mib(m.fileBytes)} (${m.fileBytes} bytes), synthetic StyleGAN1 FFHQ-1024 G + D + Gs, protocol 4`,
    `parameters:  G ${m.parameters.G.toLocaleString('en-US')}, D ${m.parameters.D.toLocaleString('en-US')}, Gs ${m.parameters.Gs.toLocaleString('en-US')}`,
    `parse:       ${m.parseMs.toFixed(0)} ms`,
    `import:      ${m.importMs.toFixed(0)} ms (building the three networks alone, random init included: ${m.constructMs.toFixed(0)} ms)`,
    `total:       ${total.toFixed(2)} s (goal ≤ ${GOAL_SECONDS} s: ${total <= GOAL_SECONDS ? 'met' : 'NOT met'})`,
    `peak RSS:    ${mib(m.peakRssBytes)} = ${ratio.toFixed(2)} × file (goal ≤ ${GOAL_RSS_RATIO}×: ${ratio <= GOAL_RSS_RATIO ? 'met' : 'NOT met'}); `
      + `${mib(m.baselineRssBytes)} of it is the process with libtorch loaded, `
      + `${((m.peakRssBytes - m.baselineRssBytes) / m.fileBytes).toFixed(2)} × file above that`,
  ];
}

async function main(args: string[]): Promise<void> {
  if (args[0] === '--measure') {
    process.stdout.write(`${JSON.stringify(await measure(args[1]!))}\n`);
    return;
  }
  const json = args.includes('--json');
  const given = args.indexOf('--pickle') >= 0 ? args[args.indexOf('--pickle') + 1] : undefined;
  const dir = given ? undefined : mkdtempSync(join(tmpdir(), 'sgts-import-bench-'));
  try {
    const pickle = given ?? join(dir!, 'ffhq-1024.pkl');
    if (!given) {
      process.stderr.write(`writing ${pickle} with ${PYTHON} (numpy) …\n`);
      execFileSync(PYTHON, [GENERATOR, '--ffhq1024', pickle], { stdio: ['ignore', 'ignore', 'inherit'] });
    }
    const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--measure', pickle], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const m = JSON.parse(out) as ImportMeasurement;
    process.stdout.write(json ? `${JSON.stringify(m)}\n` : `${formatMeasurement(m).join('\n')}\n`);
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`bench import: ${(e as Error).message}\n`);
    process.exitCode = 1;
  });
}
