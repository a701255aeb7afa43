/**
 * `stylegan studio`: the interactive web app. Opens the networks (the packaged default, or the files given), serves
 * the page and its API on 127.0.0.1 (by default), prints the URL and runs until interrupted. With --static it writes
 * the browser-only studio instead (studio-static.ts).
 */
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import type { Command } from 'commander';
import { integerAtLeast, runtime } from './options.js';
import { DEFAULT_NETWORK } from '../gen/index.js';
import { findDetector } from '../metrics/detector.js';
import { openNetworks } from '../studio/networks.js';
import { createStudioServer } from '../studio/server.js';
import { writeStaticStudio } from './studio-static.js';

interface StudioFlags {
  network: string[];
  port: number;
  host: string;
  open: boolean;
  static?: string;
  fp16: boolean;
  lod?: number;
  detectorDir?: string;
}

/** Starts a studio; resolves with its URL once it listens. */
export async function startStudio(f: StudioFlags, device: string): Promise<{ url: string; close: () => Promise<void> }> {
  const networks = await openNetworks(f.network, device);
  // Photo projections use LPIPS when vgg16.pt is in --detector-dir / $STYLEGAN_DETECTORS, else MSE.
  const vgg = findDetector('vgg16', { dir: f.detectorDir });
  const server = createStudioServer({ networks, vggPath: vgg.found ? vgg.file : null, loopbackOnly: /^(127\.\d+\.\d+\.\d+|localhost|::1)$/.test(f.host) });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new Error(`studio: cannot listen on ${f.host}:${f.port} (${e.code ?? e.message})`)));
    server.listen(f.port, f.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const host = f.host.includes(':') ? `[${f.host}]` : f.host;
  return {
    url: `http://${host}:${port}/`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

export function register(program: Command): void {
  program
    .command('studio')
    .description('interactive web app: generate, style mixing, noise, interpolation and export in the browser (--static: a serverless site)')
    .option('--network <file...>', `networks to offer (.pkl or .safetensors; default: the packaged ${DEFAULT_NETWORK})`, [])
    .option('--port <n>', 'port to listen on (0 = any free port)', integerAtLeast(0), 7860)
    .option('--host <address>', 'address to bind (the default serves this machine only)', '127.0.0.1')
    .option('--detector-dir <dir>', 'folder holding vgg16.pt for LPIPS photo projections (default: $STYLEGAN_DETECTORS; without it: MSE)')
    .option('--open', 'open the page in the default browser', false)
    .option('--static <outdir>', 'instead of serving: write the studio as a static site (ONNX on onnxruntime-web, WebGPU or wasm) into OUTDIR')
    .option('--fp16', 'with --static: store the ONNX weights as float16 (half the download)', false)
    .option('--lod <lod>', "with --static: level of detail to export (default: the network's own)", parseFloat)
    .action(async (f: StudioFlags, cmd: Command) => {
      if (f.static !== undefined) {
        if (f.network.length > 1) throw new Error('studio --static: give at most one --network');
        await writeStaticStudio(f.static, { network: f.network[0], fp16: f.fp16, lod: f.lod });
        return;
      }
      const studio = await startStudio(f, runtime(cmd).device);
      process.stdout.write(`stylegan studio: ${studio.url} (Ctrl+C to stop)\n`);
      if (f.open) spawn(process.platform === 'darwin' ? 'open' : 'xdg-open', [studio.url], { stdio: 'ignore', detached: true }).on('error', () => {}).unref();
      await new Promise<void>((resolve) => process.once('SIGINT', resolve));
      await studio.close();
    });
}
