/** Runs the `stylegan` CLI in this process and captures what it prints. */
import { main } from '../../src/cli/main.js';

/**
 * Runs the CLI in this process (argument errors that make commander exit must use `spawnCli`). Text written to
 * stdout / stderr is captured; other chunks (the test runner's own reports) pass through.
 */
export async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const captured = { stdout: '', stderr: '' };
  const originals = { stdout: process.stdout.write, stderr: process.stderr.write };
  for (const name of ['stdout', 'stderr'] as const) {
    const original = originals[name];
    process[name].write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
      if (typeof chunk !== 'string') return (original as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
      captured[name] += chunk;
      return true;
    } as typeof process.stdout.write;
  }
  process.exitCode = undefined;
  try {
    await main(['--threads', '1', '--device', 'cpu', ...args]);
  } finally {
    process.stdout.write = originals.stdout;
    process.stderr.write = originals.stderr;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { code, ...captured };
}

