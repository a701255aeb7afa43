#!/usr/bin/env node
/**
 * The `stylegan` command line. It only composes the command modules: each exports `register(program)` and adds its
 * command (and options) to the program. Errors print as `stylegan: <message>` and exit 1; STYLEGAN_DEBUG=1 adds the
 * stack.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { leakReport } from '../engine/scope.js';

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Prints an error as `stylegan: <message>` (with the stack under STYLEGAN_DEBUG=1) and sets exit code 1. */
export function reportError(e: unknown): void {
  const err = e instanceof Error ? e : new Error(String(e));
  const text = process.env.STYLEGAN_DEBUG === '1' ? (err.stack ?? err.message) : err.message;
  process.stderr.write(`stylegan: ${text}\n`);
  process.exitCode = 1;
}

/** Runs the CLI on `argv` (the arguments after the program name). */
export async function main(argv: readonly string[]): Promise<void> {
  const program = new Command('stylegan')
    .description('Progressive GAN and StyleGAN in TypeScript on libtorch')
    .version(packageVersion())
    .configureOutput({ outputError: (text, write) => write(`stylegan: ${text.replace(/^error: /, '')}`) })
    .showHelpAfterError('(add --help for usage)');
  try {
    // Importing the command modules does not load libtorch (the engine loads it on the first operation), so --help is
    // fast; a missing or broken addon is a one-line error from the command that needs it.
    const modules = await Promise.all([import('./options.js'), import('./selfcheck.js'), import('./train.js'), import('./dataset.js'), import('./metric.js'), import('./import.js'), import('./export.js'), import('./info.js'), import('./generate.js'), import('./figures.js'), import('./video.js'), import('./studio.js'), import('./studio-static.js'), import('./project.js')]);
    (await import('../io/finite.js')).setWarningSink((message) => process.stderr.write(`stylegan: warning: ${message}\n`));
    for (const m of modules) m.register(program);
    await program.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    reportError(e);
  }
  if (process.env.STYLEGAN_DEBUG_TENSORS === '1') reportLeaks();
}

/** STYLEGAN_DEBUG_TENSORS=1: the tensors still alive at the end, by creation site. */
function reportLeaks(): void {
  const { live, sites } = leakReport();
  process.stderr.write(`stylegan: ${live} tensor(s) alive at exit${live ? ', by creation site:' : ''}\n`);
  for (const s of sites.slice(0, 20)) process.stderr.write(`  ${String(s.count).padStart(6)}  ${s.example}\n`);
}

function isEntryPoint(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isEntryPoint()) await main(process.argv.slice(2));
