/**
 * One way in for every command that takes `--network`: an official pickle (StyleGAN1 / ProGAN, imported on the
 * fly) or a stylegan-ts safetensors checkpoint, told apart by their first bytes. The generator to sample from is
 * Gs (the moving average) when the file has one, else G.
 */
import type { Generator, NetworkConfig } from '../nets/index.js';
import { loadGenerator } from './checkpoint.js';
import { importOfficialFile, OFFICIAL_FORMAT_NAMES } from './import-official.js';
import { fileFormatOf, FORMAT_NAMES } from './sniff.js';

export type NetworkFileKind = 'pickle' | 'checkpoint';

/** Pickle protocol 2+ streams start with PROTO (0x80); safetensors with an 8-byte header length and '{'. */
export async function networkFileKind(path: string): Promise<NetworkFileKind> {
  const format = await fileFormatOf(path, 'network file');
  if (format === 'pickle') return 'pickle';
  if (format === 'safetensors') return 'checkpoint';
  const what = format === 'unknown' ? '' : `is ${FORMAT_NAMES[format]}, `;
  throw new Error(`${path}: ${what}neither a Python pickle (protocol 2-5) nor a safetensors checkpoint`);
}

export interface OpenedGenerator {
  G: Generator;
  config: NetworkConfig;
  /** Where the network came from, for logs: e.g. 'official StyleGAN1 TF pickle ffhq.pkl (Gs)'. */
  source: string;
}

/** The generator of a network file (official .pkl or .safetensors checkpoint), on `device`. */
export async function openGenerator(path: string, o: { device?: string } = {}): Promise<OpenedGenerator> {
  if (await networkFileKind(path) === 'pickle') {
    const imported = await importOfficialFile(path, { only: 'generator', device: o.device });
    const role = imported.Gs ? 'Gs' : 'G';
    return { G: (imported.Gs ?? imported.G)!, config: imported.config, source: `${OFFICIAL_FORMAT_NAMES[imported.format]} ${path} (${role})` };
  }
  const { G, config, metadata } = await loadGenerator(path, o.device);
  const role = (metadata.networks ?? '').split(',').includes('Gs') ? 'Gs' : 'G';
  return { G, config, source: `stylegan-ts checkpoint ${path} (${role})` };
}
