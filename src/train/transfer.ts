/**
 * Transfer learning: the starting networks of a run from a published network (official .pkl, imported or exported
 * .safetensors), and FreezeD (Mo et al. 2020): D's first layers from the input side kept fixed.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { buildDiscriminator, buildGenerator, type Discriminator, type Generator, type NetworkConfig } from '../nets/index.js';
import { loadCheckpoint } from '../io/checkpoint.js';
import { importOfficialFile, OFFICIAL_FORMAT_NAMES } from '../io/import-official.js';
import { networkFileKind } from '../io/open-network.js';

export interface TransferNets {
  G: Generator;
  D: Discriminator;
  Gs: Generator;
  config: NetworkConfig;
  source: string;
  warnings: string[];
}

/** G from Gs (or Gs from G) when the file has only one of them. */
function copyOf(net: Generator, config: NetworkConfig, device: string): Generator {
  const g = buildGenerator(config, 0, device);
  E.tidy(() => g.loadStateDict(new Map([...net.stateDict()].map(([k, v]) => [k, v.clone()])), { source: 'transfer copy' }));
  return g;
}

/** The networks of `file` to train from; D is freshly initialised (with a warning) when the file has none. */
export async function loadTransferNetworks(file: string, o: { device: string; seed: number }): Promise<TransferNets> {
  let nets: { G?: Generator; D?: Discriminator; Gs?: Generator; config: NetworkConfig };
  let source: string;
  if (await networkFileKind(file) === 'pickle') {
    const imported = await importOfficialFile(file, { device: o.device });
    nets = imported;
    source = `${OFFICIAL_FORMAT_NAMES[imported.format]} ${file}`;
  } else {
    nets = await loadCheckpoint(file, { device: o.device });
    source = `stylegan-ts checkpoint ${file}`;
  }
  const { config } = nets;
  if (!nets.G && !nets.Gs) {
    nets.D?.dispose();
    throw new Error(`${file}: holds no generator (G or Gs) to start from`);
  }
  const warnings: string[] = [];
  const G = nets.G ?? copyOf(nets.Gs!, config, o.device);
  const Gs = nets.Gs ?? copyOf(nets.G!, config, o.device);
  let D = nets.D;
  if (!D) {
    warnings.push(`${file}: has no discriminator; D starts from a random initialisation`);
    D = buildDiscriminator(config, o.seed * 3 + 2, o.device);
  }
  return { G, D, Gs, config, source, warnings };
}

/** D's layers in input order at full resolution: FromRGB_lod0, each block's convolutions, the dense layers. */
export function discriminatorLayers(D: Discriminator): string[] {
  const layers: string[] = [];
  for (const name of D.stateDict().keys()) {
    if (!name.includes('/')) continue; // lod
    const layer = name.slice(0, name.lastIndexOf('/'));
    if ( /^FromRGB_lod[1-9]/.test(layer) || layers.includes(layer)) continue;
    layers.push(layer);
  }
  return layers;
}

/** D's trainable parameters with its first `n` layers (FreezeD) left out; those no longer require grad. */
export function trainableDiscriminatorParams(D: Discriminator, n: number): Tensor[] {
  const layers = discriminatorLayers(D);
  if (n > layers.length) throw new Error(`--freeze-d ${n}: D has only ${layers.length} layers (${layers.join(', ')})`);
  const frozenLayers = new Set(layers.slice(0, n));
  const frozen = new Set<Tensor>();
  for (const [name, t] of D.stateDict()) if (frozenLayers.has(name.slice(0, name.lastIndexOf('/')))) frozen.add(t);
  for (const t of frozen) t.requiresGrad_(false);
  return D.parameters().filter((t) => !frozen.has(t));
}
