/**
 * The pickle fixtures of test/fixtures/pickles/ (written by tools/make-pickle-fixtures.py) and their
 * manifest. Shared by the pickle reader tests and the pickle fuzz test.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Fixture directory (this file runs from dist/test/helpers/). */
export const FIXTURE_DIR = fileURLToPath(new URL('../../../test/fixtures/pickles/', import.meta.url));

export interface ManifestArray {
  name: string;
  dtype: string;
  shape: number[];
  sha256: string;
  /** numpy scalar (as opposed to an ndarray). */
  scalar?: boolean;
  /** torch nn.Parameter. */
  parameter?: boolean;
  stride?: number[];
  storage_offset?: number;
  /** Values in C order when there are at most 16; ints beyond 2**53 as decimal strings. */
  values?: (number | string | boolean)[];
}

export interface ManifestNetwork {
  path: string;
  module: string;
  version: number;
  name: string;
  build_func_name: string;
  static_kwargs: Record<string, unknown>;
  components: string[];
  variables: string[];
}

export interface ManifestModule {
  path: string;
  class_name: string;
  attrs: Record<string, unknown>;
  parameters: string[];
  buffers: string[];
  modules: string[];
}

export interface ManifestFixture {
  kind: 'tf' | 'persistent' | 'torch' | 'misc';
  files: Record<string, string>;
  arrays: ManifestArray[];
  top?: string[];
  networks?: ManifestNetwork[];
  modules?: ManifestModule[];
  training_set_kwargs?: Record<string, unknown>;
  shared_storage?: string[][];
  fortran?: string[];
  big_endian?: string[];
}

export const MANIFEST = JSON.parse(readFileSync(`${FIXTURE_DIR}manifest.json`, 'utf8')) as {
  fixtures: Record<string, ManifestFixture>;
};

/** Every fixture file: fixture name, variant (protocol, 'zip' or 'legacy') and path. */
export function fixtureFiles(): { fixture: string; variant: string; path: string }[] {
  return Object.entries(MANIFEST.fixtures).flatMap(([fixture, entry]) =>
    Object.entries(entry.files).map(([variant, file]) => ({ fixture, variant, path: `${FIXTURE_DIR}${file}` })));
}

/** Plain Uint8Array contents of a fixture file. */
export function fixtureBytes(path: string): Uint8Array {
  const b = readFileSync(path);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * The reviewed allow-list, written out independently of the reader's own table: the reader must
 * resolve exactly these names and nothing else, whatever the input.
 */
export const REVIEWED_GLOBALS = new Set([
  'dnnlib.tflib.network.Network', 'tfutil.Network', 'dnnlib.util.EasyDict', 'collections.OrderedDict',
  'builtins.set', '__builtin__.set', 'builtins.frozenset', '__builtin__.frozenset',
  'builtins.bytearray', '__builtin__.bytearray', 'builtins.bytes', '__builtin__.bytes', '_codecs.encode',
  'numpy.dtype', 'numpy.ndarray',
  'numpy.core.multiarray._reconstruct', 'numpy.core.multiarray.scalar', 'numpy.core.numeric._frombuffer',
  'numpy._core.multiarray._reconstruct', 'numpy._core.multiarray.scalar', 'numpy._core.numeric._frombuffer',
  'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_tensor', 'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state', 'torch.storage._load_from_bytes',
  'torch_utils.persistence._reconstruct_persistent_obj',
  'torch.FloatStorage', 'torch.DoubleStorage', 'torch.HalfStorage', 'torch.BFloat16Storage', 'torch.LongStorage',
  'torch.IntStorage', 'torch.ShortStorage', 'torch.CharStorage', 'torch.ByteStorage', 'torch.BoolStorage',
]);
