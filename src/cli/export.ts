/**
 * `stylegan export`: a smaller checkpoint from a training snapshot (e.g. Gs only, float16) with provenance metadata,
 * or (`--onnx DIR`) the generator of any network file as ONNX graphs for onnxruntime.
 */
import { stat } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { loadCheckpoint, saveCheckpoint, type NetworkRole } from '../io/checkpoint.js';
import { NETWORK_ROLES } from '../nets/networks.js';
import { networkRoles } from './options.js';
import { exportNetworkOnnx } from './export-onnx.js';


function keyValues(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const m = /^([A-Za-z_][\w.-]*)=(.*)$/s.exec(value);
  if (!m) throw new InvalidArgumentError(`expected key=value, got '${value}'`);
  return { ...previous, [m[1]!]: m[2]! };
}

export function register(program: Command): void {
  program
    .command('export')
    .description('write some networks of a checkpoint or training snapshot to a new checkpoint (training state dropped), '
      + 'or with --onnx the generator of any network as ONNX graphs')
    .argument('[snapshot]', 'stylegan-ts checkpoint or network-snapshot-*.safetensors (with --onnx: any network file; default: the default network)')
    .option('-o, --output <file.safetensors>', 'checkpoint to write')
    .option('--onnx <dir>', 'write mapping.onnx + synthesis.onnx (StyleGAN) or generator.onnx (ProGAN) and network.json into DIR')
    .option('--lod <lod>', 'with --onnx: level of detail to export (default: the network\'s own)', parseFloat)
    .option('--only <list>', 'networks to keep: a comma-separated subset of G,D,Gs', networkRoles, ['Gs'] as NetworkRole[])
    .option('--fp16', 'store the weights as float16', false)
    .option('--meta <key=value>', 'add a metadata entry (repeatable), e.g. provenance', keyValues, {})
    .action(async (snapshot: string | undefined, o: { output?: string; onnx?: string; lod?: number; only: NetworkRole[]; fp16: boolean; meta: Record<string, string> }) => {
      if (o.onnx !== undefined) {
        if (o.output !== undefined) throw new Error('--onnx and --output are exclusive: export one format at a time');
        await exportNetworkOnnx(snapshot, o.onnx, { fp16: o.fp16, lod: o.lod });
        return;
      }
      if (snapshot === undefined || o.output === undefined) throw new Error('export: give a snapshot and --output FILE.safetensors (or --onnx DIR)');
      const ck = await loadCheckpoint(snapshot, { only: o.only });
      try {
        // Training state (optimizer moments, RNG, loop state) stays behind; the kimg and preset travel along.
        const keep = Object.fromEntries(Object.entries(ck.metadata).filter(([k]) => ['kimg', 'preset', 'source', 'source_format'].includes(k)));
        await saveCheckpoint(o.output, {
          config: ck.config, nets: { G: ck.G, D: ck.D, Gs: ck.Gs }, dtype: o.fp16 ? 'float16' : 'float32',
          metadata: { ...keep, exported_from: snapshot, ...o.meta },
        });
        const size = ((await stat(o.output)).size / 1024).toFixed(0);
        process.stdout.write(`${o.output}: ${o.only.join(', ')} from ${snapshot} (${size} KiB${o.fp16 ? ', float16' : ''})\n`);
      } finally {
        for (const r of NETWORK_ROLES) ck[r]?.dispose();
      }
    });
}
