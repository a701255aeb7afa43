/** Access to the system Python with numpy (Debian's /usr/bin/python3) for interoperability tests. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The Python that has numpy; the `python3` on PATH may not. */
export const PYTHON = '/usr/bin/python3';

/** The repository root (this file runs from dist/test/helpers/). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

let numpyAvailable: boolean | undefined;

/** Whether PYTHON exists and can import numpy (checked once). */
export function hasNumpy(): boolean {
  if (numpyAvailable === undefined) {
    try {
      numpyAvailable = existsSync(PYTHON) && (execFileSync(PYTHON, ['-c', 'import numpy'], { stdio: 'ignore' }), true);
    } catch {
      numpyAvailable = false;
    }
  }
  return numpyAvailable;
}

/** Skip reason for node:test when numpy is missing, or false when the test can run. */
export function skipWithoutNumpy(): string | false {
  return hasNumpy() ? false : `${PYTHON} with numpy is not available`;
}

/** Runs a Python script (inline code, or a file when `file` is true) with arguments; returns stdout. */
export function runPython(code: string, args: readonly string[] = [], file = false): string {
  return execFileSync(PYTHON, file ? [code, ...args] : ['-c', code, ...args], { encoding: 'utf8' });
}

/** Whether PYTHON imports torch (the benchmarks' PyTorch peers need it). */
export function torchImportable(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
