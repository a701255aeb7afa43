/** A fresh temporary directory per test file, removed when the file's tests end. */
import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
