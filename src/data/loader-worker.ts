/**
 * The worker thread behind BatchLoader (loader.ts): opens the dataset, caches what fits, and keeps up to
 * `prefetch` batches of the current generation (settings) ahead of the consumer. Batches travel as transferred
 * buffers. On 'close' it stops, closes the dataset and lets the thread end.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { assembleBatch } from './batches.js';
import { openDataset, type Dataset } from './dataset.js';
import type { FromWorker, ToWorker, WorkerSettings } from './loader.js';
import { ImageOrder } from './order.js';
import { ImageStore } from './store.js';

const port = parentPort!;
const settings = workerData as WorkerSettings;

interface Production {
  generation: number;
  resolution: number;
  batchSize: number;
  /** Stream position of the next batch to prepare. */
  position: number;
  /** Batches sent and not yet consumed. */
  outstanding: number;
  failed: boolean;
}

let dataset: Dataset | null = null;
let store: ImageStore | null = null;
let order: ImageOrder;
let production: Production | null = null;
let pumping: Promise<void> | null = null;
let closing = false;

function send(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Prepares batches until `prefetch` are outstanding; restarts when the settings change meanwhile. */
async function produce(): Promise<void> {
  while (!closing && production && !production.failed && production.outstanding < settings.prefetch) {
    const current = production;
    try {
      await store!.prepare(current.resolution);
      const batch = await assembleBatch(store!, order, { position: current.position, batchSize: current.batchSize, resolution: current.resolution, shard: settings.shard });
      if (closing || current !== production) continue;
      current.position += current.batchSize;
      current.outstanding++;
      const buffers = [batch.images, batch.indices, batch.flipped, batch.labels].flatMap((a) => (a ? [a.buffer as ArrayBuffer] : []));
      send({ type: 'batch', generation: current.generation, batch }, buffers);
    } catch (err) {
      if (closing || current !== production) continue;
      current.failed = true;
      send({ type: 'error', generation: current.generation, message: messageOf(err) });
    }
  }
}

function pump(): void {
  if (pumping) return;
  pumping = produce().finally(() => {
    pumping = null;
    // Settings or credit may have changed while the last batch was prepared.
    if (!closing && production && !production.failed && production.outstanding < settings.prefetch) pump();
  });
}

async function close(): Promise<void> {
  closing = true;
  store?.stop();
  await pumping;
  await dataset?.close();
  port.close();
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'configure') {
    const { generation, resolution, batchSize, position } = message;
    production = { generation, resolution, batchSize, position, outstanding: 0, failed: false };
    pump();
  } else if (message.type === 'consumed') {
    if (production && message.generation === production.generation) {
      production.outstanding--;
      pump();
    }
  } else if (message.type === 'close') {
    void close();
  }
});

try {
  dataset = await openDataset(settings.path, { validate: settings.validate });
  store = new ImageStore(dataset, {
    memoryBudget: settings.memoryBudget,
    onProgress: (progress) => send({ type: 'progress', progress }),
  });
  order = new ImageOrder(dataset.count, { seed: settings.seed, shuffle: settings.shuffle, xflip: settings.xflip });
  send({ type: 'ready', info: dataset.info });
} catch (err) {
  send({ type: 'error', generation: 0, message: messageOf(err) });
  await dataset?.close();
  port.close();
}
