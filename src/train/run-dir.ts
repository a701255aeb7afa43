/**
 * Run directories: numbered creation and atomic claiming (one run per directory, held by a `.lock` file created
 * with O_EXCL), refusal of fresh runs into non-empty directories, removal of temporary files left by killed
 * runs, and snapshot names that count images (so a resumed run never overwrites the snapshot it started from).
 */
import { mkdirSync, openSync, writeSync, closeSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import path from 'node:path';

const LOCK = '.lock';
const SNAPSHOT = /^network-snapshot-(\d+)(?:\.(\d{3}))?\.safetensors$/;

/** `network-snapshot-KKKKKK.III.safetensors`: thousands and units of the images seen. */
export function snapshotName(nimg: number): string {
  return `network-snapshot-${String(Math.floor(nimg / 1000)).padStart(6, '0')}.${String(nimg % 1000).padStart(3, '0')}.safetensors`;
}

/** Images seen by a snapshot file name (also the older whole-kimg names), or null for other files. */
export function snapshotImages(file: string): number | null {
  const m = SNAPSHOT.exec(path.basename(file));
  return m ? Number(m[1]) * 1000 + Number(m[2] ?? 0) : null;
}

/** The snapshot of a run directory with the most images seen, or null. */
export function latestSnapshot(runDir: string): string | null {
  if (!existsSync(runDir)) return null;
  let best: [number, string] | null = null;
  for (const f of readdirSync(runDir)) {
    const n = snapshotImages(f);
    if (n !== null && (!best || n > best[0])) best = [n, f];
  }
  return best ? path.join(runDir, best[1]) : null;
}

/** Creates the next numbered run directory `<outdir>/NNNNN-<desc>` (the official convention), atomically. */
export function nextRunDir(outdir: string, desc: string): string {
  mkdirSync(outdir, { recursive: true });
  const ids = readdirSync(outdir).map((f) => /^(\d{5})-/.exec(f)).filter((m) => m).map((m) => Number(m![1]));
  for (let id = ids.length ? Math.max(...ids) + 1 : 0; ; id++) {
    const dir = path.join(outdir, `${String(id).padStart(5, '0')}-${desc}`);
    try {
      mkdirSync(dir); // fails if another run took this number meanwhile
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Takes the lock file of `runDir` (O_EXCL); a lock whose process is gone is taken over. */
function takeLock(runDir: string): void {
  const file = path.join(runDir, LOCK);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && alive(pid)) throw new Error(`${runDir}: the run directory is in use by process ${pid} (${LOCK})`);
    rmSync(file, { force: true }); // stale: its process is gone
  }
  throw new Error(`${runDir}: could not claim the run directory (another process races for ${LOCK})`);
}

export interface RunDirClaim {
  /** Temporary files of killed runs that were removed. */
  removed: string[];
  release(): void;
}

/**
 * Claims `runDir` for this process. A fresh run (`fresh`) needs the directory empty or absent; a resumed run may
 * find anything. Stale temporary files (`*.tmp-*` of atomic writes) are removed once the directory is held.
 */
export function claimRunDir(runDir: string, fresh: boolean): RunDirClaim {
  mkdirSync(runDir, { recursive: true });
  takeLock(runDir);
  const release = () => rmSync(path.join(runDir, LOCK), { force: true });
  const entries = readdirSync(runDir).filter((f) => f !== LOCK);
  if (fresh && entries.length) {
    release();
    const snap = latestSnapshot(runDir);
    throw new Error(`${runDir}: the run directory is not empty (${entries.length} entries${snap ? `, newest snapshot ${path.basename(snap)}` : ''}); ` +
      'continue it with --resume true or choose another --run-dir');
  }
  const removed = entries.filter((f) => /\.tmp-\d+-[0-9a-f]+$/.test(f));
  for (const f of removed) rmSync(path.join(runDir, f), { force: true });
  return { removed, release };
}
