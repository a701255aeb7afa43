/**
 * `stylegan train --nproc N`: the local launcher of data-parallel training. It starts N worker processes running the
 * same command line with the torchrun environment (MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK), watches
 * them, and stops the run when one fails: the others notice the dead peer in their next collective and exit on their
 * own; whoever is still alive after a grace period is terminated. With `--nnodes M --node-rank K` the same command on
 * every machine forms one group of M × N ranks around `--master-addr:--master-port` (node 0 hosts the rendezvous).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';

export interface LaunchOptions {
  nproc: number;
  nnodes: number;
  nodeRank: number;
  masterAddr: string;
  /** undefined: a free port of this machine (single node only). */
  masterPort?: number;
  /** The worker command line: the arguments of this process, plus what the launcher decided (e.g. --run-dir). */
  args: string[];
  /** CPU workers: intra-op threads of each (default: the cores split between the local workers). */
  threads?: number;
  /** Seconds the other workers get to exit on their own after one fails (default 30). */
  graceSeconds?: number;
  log?: (line: string) => void;
}

/** Set in the workers' environment: they train instead of launching. */
export const WORKER_ENV = 'STYLEGAN_DIST_WORKER';
export const isWorker = (env: NodeJS.ProcessEnv = process.env): boolean => env[WORKER_ENV] === '1';

/** The arguments the program was parsed from (commander keeps them as `rawArgs`; also when run in-process). */
export function commandLine(cmd: Command): string[] {
  let root = cmd;
  while (root.parent) root = root.parent;
  const raw = (root as unknown as { rawArgs?: string[] }).rawArgs;
  return raw?.length ? [...raw] : process.argv.slice(2);
}

/** A TCP port that was free a moment ago on `host`. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `was killed by ${signal}` : `exited with code ${code}`;
}

/** Runs the workers of this node; resolves when all exit 0, rejects with the first failure. */
export async function launchWorkers(o: LaunchOptions): Promise<void> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  if (o.nodeRank >= o.nnodes) throw new Error(`--node-rank ${o.nodeRank} is not below --nnodes ${o.nnodes}`);
  if (o.nnodes > 1 && o.masterPort === undefined) throw new Error('--nnodes > 1 needs --master-port (the same on every node)');
  const port = o.masterPort ?? (await freePort(o.masterAddr));
  const worldSize = o.nnodes * o.nproc;
  const threads = o.threads ?? Math.max(1, Math.floor(os.availableParallelism() / o.nproc));
  const children: ChildProcess[] = [];
  let failure: string | null = null;
  let killer: NodeJS.Timeout | null = null;
  const exits = Array.from({ length: o.nproc }, (_, local) => {
    const rank = o.nodeRank * o.nproc + local;
    const child = spawn(process.execPath, [fileURLToPath(new URL('./main.js', import.meta.url)), ...o.args], {
      stdio: ['ignore', rank === 0 ? 'inherit' : 'ignore', 'inherit'],
      env: {
        ...process.env, [WORKER_ENV]: '1', MASTER_ADDR: o.masterAddr, MASTER_PORT: String(port), WORLD_SIZE: String(worldSize),
        RANK: String(rank), LOCAL_RANK: String(local), STYLEGAN_THREADS: String(threads),
      },
    });
    children.push(child);
    log(`worker rank ${rank} of ${worldSize}: pid ${child.pid}`);
    return new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        if ((code !== 0 || signal) && !failure) {
          failure = `worker rank ${rank} (pid ${child.pid}) ${describeExit(code, signal)}`;
          killer = setTimeout(() => children.forEach((c) => c.exitCode === null && c.signalCode === null && c.kill('SIGTERM')), (o.graceSeconds ?? 30) * 1000);
        }
        resolve();
      });
    });
  });
  const forward = (sig: NodeJS.Signals) => children.forEach((c) => c.kill(sig));
  process.on('SIGINT', forward).on('SIGTERM', forward);
  try {
    await Promise.all(exits);
  } finally {
    if (killer) clearTimeout(killer);
    process.off('SIGINT', forward).off('SIGTERM', forward);
  }
  if (failure) throw new Error(`train: ${failure}; the run stopped (continue it with --resume true from its last snapshot, any --nproc)`);
}
