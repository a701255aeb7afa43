/** `stylegan export`: a smaller checkpoint from a training snapshot (e.g. Gs only, float16) with provenance metadata. */
import { stat } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { loadCheckpoint, saveCheckpoint, type NetworkRole } from '../io/checkpoint.js';
import { NETWORK_ROLES } from '../nets/networks.js';
import { networkRoles } from './options.js';


function keyValues(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const m = /^([A-Za-z_][\w.-]*)=(.*)$/s.exec(value);
  if (!m) throw new InvalidArgumentError(`expected key=value, got '${value}'`);
  return { ...previous, [m[1]!]: m[2]! };
}

export function register(program: Command): void {
  program
    .command('export')
    .description('write some networks of a checkpoint or training snapshot to a new checkpoint (training state dropped)')
    .argument('<snapshot>', 'stylegan-ts checkpoint or network-snapshot-*.safetensors')
    .requiredOption('-o, --output <file.safetensors>', 'checkpoint to write')
    .option('--only <list>', 'networks to keep: a comma-separated subset of G,D,Gs', networkRoles, ['Gs'] as NetworkRole[])
    .option('--fp16', 'store the weights as float16', false)
    .option('--meta <key=value>', 'add a metadata entry (repeatable), e.g. provenance', keyValues, {})
    .action(async (snapshot: string, o: { output: string; only: NetworkRole[]; fp16: boolean; meta: Record<string, string> }) => {
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
