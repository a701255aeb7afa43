/**
 * Import benchmark: parse + import of full-size official pickles (G, D, Gs with every official variable name and
 * shape, float32, protocol 4 as the official files), written by `tools/make-pickle-fixtures.py` into a temporary
 * directory (never committed):
 *   - StyleGAN1 FFHQ-1024 (`--ffhq1024`, ≈ 325 MB, as karras2019stylegan-ffhq-1024x1024.pkl),
 *   - ProGAN CelebA-HQ 1024 (`--progan1024`, ≈ 277 MB, as karras2018iclr-celebahq-1024x1024.pkl).
 * Each measurement runs in a fresh Node process, so that its peak RSS (VmHWM) covers only loading libtorch, parsing
 * and importing. The memory goal is on the growth: peak RSS − the RSS once libtorch is loaded ≤ 2 × the file size.
 *
 * Goals: parse + import ≤ 2 s, peak RSS growth ≤ 2 × the file size.
 *
 * Run: `npm run bench:import`, or `node dist/bench/import.js [--pickle FILE] [--json]` (--pickle measures one given
 * file instead of writing the two).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GENERATOR = join(ROOT, 'tools', 'make-pickle-fixtures.py');
const PYTHON = '/usr/bin/python3';
const GOAL_SECONDS = 2;
const GOAL_GROWTH_RATIO = 2;

/** The pickles written when none is given: label and generator option. */
const PICKLES = [
  { label: 'synthetic StyleGAN1 FFHQ-1024 G + D + Gs', option: '--ffhq1024', file: 'stylegan1-ffhq-1024.pkl' },
  { label: 'synthetic ProGAN CelebA-HQ 1024 G + D + Gs', option: '--progan1024', file: 'progan-celebahq-1024.pkl' },
];

/** What the measuring process reports. */
export interface ImportMeasurement {
  fileBytes: number;
  /** RSS once the engine (libtorch) is loaded, before reading the file. */
  baselineRssBytes: number;
  parseMs: number;
  importMs: number;
  /** Peak RSS of the whole process (VmHWM). */
  peakRssBytes: number;
  /** For scale: constructing the same three networks (random initialization) without loading anything. */
  constructMs: number;
  parameters: { G: number; D: number; Gs: number };
}

/** A field of /proc/self/status in bytes. */
function status(field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error(`/proc/self/status has no ${field}`);
  return Number(m[1]) * 1024;
}

/** Runs in the child: parse, import, report. */
async function measure(pickle: string): Promise<ImportMeasurement> {
  const E = await import('../src/engine/index.js');
  const { readPickleFile } = await import('../src/io/pickle.js');
  const { importOfficial } = await import('../src/io/import-official.js');
  const { buildDiscriminator, buildGenerator } = await import('../src/nets/index.js');
  E.zeros([1]).dispose();
  const baselineRssBytes = status('VmRSS');
  const t0 = performance.now();
  const value = await readPickleFile(pickle);
  const t1 = performance.now();
  const imported = importOfficial(value, pickle);
  const t2 = performance.now();
  const peakRssBytes = status('VmHWM');
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

export function formatMeasurement(m: ImportMeasurement, label: string): string[] {
  const total = (m.parseMs + m.importMs) / 1000;
  const growth = m.peakRssBytes - m.baselineRssBytes;
  const ratio = growth / m.fileBytes;
  return [
    `file:        ${mib(m.fileBytes)} (${m.fileBytes} bytes), ${label}, protocol 4`,
    `parameters:  G ${m.parameters.G.toLocaleString('en-US')}, D ${m.parameters.D.toLocaleString('en-US')}, Gs ${m.parameters.Gs.toLocaleString('en-US')}`,
    `parse:       ${m.parseMs.toFixed(0)} ms`,
    `import:      ${m.importMs.toFixed(0)} ms (building the three networks alone, random init included: ${m.constructMs.toFixed(0)} ms)`,
    `total:       ${total.toFixed(2)} s (goal ≤ ${GOAL_SECONDS} s: ${total <= GOAL_SECONDS ? 'met' : 'NOT met'})`,
    `peak RSS:    ${mib(m.peakRssBytes)}, of which ${mib(m.baselineRssBytes)} is the process with libtorch loaded`,
    `RSS growth:  ${mib(growth)} = ${ratio.toFixed(2)} × file (goal ≤ ${GOAL_GROWTH_RATIO}×: ${ratio <= GOAL_GROWTH_RATIO ? 'met' : 'NOT met'})`,
  ];
}

function measureInChild(pickle: string): ImportMeasurement {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--measure', pickle], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out) as ImportMeasurement;
}

async function main(args: string[]): Promise<void> {
  if (args[0] === '--measure') {
    process.stdout.write(`${JSON.stringify(await measure(args[1]!))}\n`);
    return;
  }
  const json = args.includes('--json');
  const report = (m: ImportMeasurement, label: string) => {
    process.stdout.write(json ? `${JSON.stringify({ label, ...m })}\n` : `${formatMeasurement(m, label).join('\n')}\n\n`);
  };
  const given = args.indexOf('--pickle') >= 0 ? args[args.indexOf('--pickle') + 1] : undefined;
  if (given) {
    report(measureInChild(given), given);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'sgts-import-bench-'));
  try {
    for (const p of PICKLES) {
      const pickle = join(dir, p.file);
      process.stderr.write(`writing ${pickle} with ${PYTHON} (numpy) …\n`);
      execFileSync(PYTHON, [GENERATOR, p.option, pickle], { stdio: ['ignore', 'ignore', 'inherit'] });
      report(measureInChild(pickle), p.label);
      rmSync(pickle);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`bench import: ${(e as Error).message}\n`);
    process.exitCode = 1;
  });
}
