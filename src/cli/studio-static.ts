/**
 * `stylegan studio --static OUTDIR`: a self-contained static site running the studio in the browser. It holds the
 * page (studio/static/), the network exported to ONNX (model/), onnxruntime-web's module and its WebGPU/wasm binary
 * (ort/) and numpy's RandomState (js/, so seeds mean the same latents as in the CLI). No server is needed: any static
 * host serves it (threads only with cross-origin isolation headers; single-threaded wasm otherwise).
 */
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { writeFileAtomic } from '../io/atomic.js';
import { exportNetworkOnnx } from './export-onnx.js';

/** The page's own files, relative to the package root (this file runs from dist/src/cli/). */
const PAGE_DIR = fileURLToPath(new URL('../../../studio/static/', import.meta.url));
/** numpy's RandomState as compiled by tsc: plain ES modules without dependencies on the engine's native side. */
const RANDOM_MODULES = ['numpy-random.js', 'correctly-rounded-log.js'].map((f) => fileURLToPath(new URL(`../engine/${f}`, import.meta.url)));
/** onnxruntime-web: the ES module whose WebAssembly build carries both the wasm and the WebGPU backends. */
export const ORT_FILES = ['ort.min.mjs', 'ort-wasm-simd-threaded.jsep.mjs', 'ort-wasm-simd-threaded.jsep.wasm'];

function ortDist(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
  } catch (e) {
    throw new Error(`onnxruntime-web is not installed (${(e as Error).message.split('\n')[0]})`, { cause: e });
  }
}

async function copy(from: string, to: string): Promise<number> {
  const bytes = await readFile(from).catch((e: Error) => {
    throw new Error(`${from}: cannot read (${e.message})`, { cause: e });
  });
  await writeFileAtomic(to, bytes);
  return bytes.byteLength;
}

export interface StaticStudioOptions {
  network?: string;
  fp16?: boolean;
  /** Level of detail to export (default: the network's own). */
  lod?: number;
  quiet?: boolean;
}

/** Writes the static studio for `network` (undefined = the default network) into `outDir`; returns file sizes. */
export async function writeStaticStudio(outDir: string, o: StaticStudioOptions = {}): Promise<{ sizes: Map<string, number>; exportSeconds: number }> {
  const sizes = new Map<string, number>();
  for (const sub of ['model', 'ort', 'js']) await mkdir(join(outDir, sub), { recursive: true });
  const exported = await exportNetworkOnnx(o.network, join(outDir, 'model'), { fp16: o.fp16, lod: o.lod, quiet: true });
  for (const [name, bytes] of exported.sizes) sizes.set(`model/${name}`, bytes);
  for (const name of await readdir(PAGE_DIR)) sizes.set(name, await copy(join(PAGE_DIR, name), join(outDir, name)));
  for (const file of RANDOM_MODULES) sizes.set(`js/${file.split('/').at(-1)}`, await copy(file, join(outDir, 'js', file.split('/').at(-1)!)));
  const dist = ortDist();
  for (const name of ORT_FILES) sizes.set(`ort/${name}`, await copy(join(dist, name), join(outDir, 'ort', name)));
  if (!o.quiet) {
    for (const [name, bytes] of sizes) process.stdout.write(`${join(outDir, name)}: ${(bytes / 1024).toFixed(0)} KiB\n`);
    const total = [...sizes.values()].reduce((a, b) => a + b, 0);
    process.stdout.write(`static studio for ${exported.info.source ?? 'the network'}: ${(total / 2 ** 20).toFixed(1)} MiB in ${outDir} `
      + `(ONNX export ${exported.seconds.toFixed(2)} s); serve the folder with any static web server\n`);
  }
  return { sizes, exportSeconds: exported.seconds };
}

/**
 * Registers `stylegan studio --static OUTDIR` unless a `studio` command exists already (the server studio), in which
 * case that command takes --static by calling `writeStaticStudio`.
 */
export function register(program: Command): void {
  if (program.commands.some((c) => c.name() === 'studio')) return;
  program
    .command('studio')
    .description('the studio in the browser: with --static, a self-contained static site (ONNX on onnxruntime-web, WebGPU or wasm)')
    .requiredOption('--static <outdir>', 'write the static site into OUTDIR')
    .option('--network <path>', 'official .pkl or stylegan-ts .safetensors (default: the packaged network)')
    .option('--fp16', 'store the ONNX weights as float16 (half the download)', false)
    .option('--lod <lod>', "level of detail to export (default: the network's own)", parseFloat)
    .action(async (o: { static: string; network?: string; fp16: boolean; lod?: number }) => {
      await writeStaticStudio(o.static, { network: o.network, fp16: o.fp16, lod: o.lod });
    });
}
