/**
 * Opening the generator to sample from, and the default network shipped in the package
 * (models/fmnist32-stylegan.safetensors: Fashion-MNIST 32², 1 channel, 10 classes, conditional).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openGenerator, type OpenedGenerator } from '../io/open-network.js';

/** The default network, relative to the package root. */
export const DEFAULT_NETWORK = 'models/fmnist32-stylegan.safetensors';

/** Absolute path of the default network (this file runs from dist/src/gen/, three levels below the package root). */
export const defaultNetworkPath = (): string => fileURLToPath(new URL(`../../../${DEFAULT_NETWORK}`, import.meta.url));

export type OpenedNetwork = OpenedGenerator;

/**
 * The generator of a network file: an official .pkl or a stylegan-ts .safetensors checkpoint (Gs when present).
 * `path` undefined = the default network. Errors name the file; a missing default network says so.
 */
export async function openNetwork(path: string | undefined, o: { device?: string } = {}): Promise<OpenedNetwork> {
  const file = path ?? defaultNetworkPath();
  if (!existsSync(file)) {
    throw new Error(path === undefined
      ? `the default network ${file} is missing (it ships with the package once trained); pass --network PATH`
      : `${file}: no such network file`);
  }
  return openGenerator(file, o);
}
