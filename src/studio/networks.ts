/**
 * The networks a studio serves: the packaged default and the files named on the command line, opened once at start
 * (a bad file fails the command, not a request). The page names them by id ('n0', 'n1', …), never by path.
 */
import { basename } from 'node:path';
import { openNetwork, isStyleGAN, DEFAULT_NETWORK, type AnyGenerator } from '../gen/index.js';
import { RequestError, type NetworkShape } from './requests.js';

/** What the page needs to know about a network to build its controls. */
export interface NetworkInfo extends NetworkShape {
  id: string;
  name: string;
  arch: 'stylegan' | 'progan';
  channels: number;
  /** The resolution each synthesis layer works at (two layers per resolution from 4²); empty for ProGAN. */
  layerResolutions: number[];
  /** Layers ψ applies to by default. */
  truncationCutoff: number | null;
}

export interface StudioNetwork {
  info: NetworkInfo;
  G: AnyGenerator;
  /** The --network argument that reproduces this network on the command line (undefined = the default). */
  cliPath: string | undefined;
}

/** Opens the networks: `paths` as given, or the packaged default when there are none. */
export async function openNetworks(paths: readonly string[], device: string): Promise<StudioNetwork[]> {
  const list = paths.length ? [...paths] : [undefined];
  const out: StudioNetwork[] = [];
  for (const [i, path] of list.entries()) {
    const { G } = await openNetwork(path, { device });
    const style = isStyleGAN(G);
    const numLayers = style ? G.numLayers : 0;
    out.push({
      G,
      cliPath: path,
      info: {
        id: `n${i}`,
        name: path === undefined ? `${basename(DEFAULT_NETWORK)} (default)` : basename(path),
        arch: style ? 'stylegan' : 'progan',
        resolution: G.cfg.resolution,
        channels: G.cfg.numChannels,
        labelSize: G.cfg.labelSize,
        numLayers,
        layerResolutions: Array.from({ length: numLayers }, (_, l) => 2 ** ((l >> 1) + 2)),
        truncationCutoff: style ? G.cfg.truncationCutoff : null,
      },
    });
  }
  return out;
}

/** The network with this id; 404 otherwise. */
export function networkById(nets: readonly StudioNetwork[], id: string): StudioNetwork {
  const n = nets.find((x) => x.info.id === id);
  if (!n) throw new RequestError(`no network '${id}'`, 404);
  return n;
}
