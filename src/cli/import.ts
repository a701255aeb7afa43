/** `stylegan import`: an official StyleGAN1 / ProGAN pickle to a stylegan-ts checkpoint (safetensors). */
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { saveCheckpoint, type NetworkRole } from '../io/checkpoint.js';
import { importOfficialFile, OFFICIAL_FORMAT_NAMES } from '../io/import-official.js';
import { NETWORK_ROLES } from '../nets/networks.js';
import { networkRoles } from './options.js';


interface ImportFlags {
  output: string;
  only?: NetworkRole[];
  fp16: boolean;
}

/** Imports `pkl` and writes the checkpoint; returns the line to print. */
export async function importCommand(pkl: string, flags: ImportFlags): Promise<string> {
  const imported = await importOfficialFile(pkl, { only: flags.only });
  try {
    const nets = { G: imported.G, D: imported.D, Gs: imported.Gs };
    await saveCheckpoint(flags.output, { config: imported.config, nets, metadata: imported.metadata, dtype: flags.fp16 ? 'float16' : 'float32' });
    const c = imported.config;
    const what = NETWORK_ROLES.filter((r) => nets[r]).map((r) => `${r} ${nets[r]!.numParams().toLocaleString('en-US')}`).join(', ');
    const size = ((await stat(flags.output)).size / 2 ** 20).toFixed(1);
    return `${flags.output}: ${what} parameters (${c.arch} ${c.resolution}x${c.resolution}, ${c.numChannels} channel(s), `
      + `${c.labelSize} label(s)${flags.fp16 ? ', float16' : ''}; ${size} MiB) from ${OFFICIAL_FORMAT_NAMES[imported.format]} ${pkl}`;
  } finally {
    imported.dispose();
  }
}

export function register(program: Command): void {
  program
    .command('import')
    .description("convert NVIDIA's official StyleGAN1 / ProGAN pickle (read safely, nothing executed) to a checkpoint")
    .argument('<file.pkl>', 'official pickle, e.g. karras2019stylegan-ffhq-1024x1024.pkl')
    .requiredOption('-o, --output <file.safetensors>', 'checkpoint to write')
    .option('--only <list>', 'networks to keep: a comma-separated subset of G,D,Gs (default: all)', networkRoles)
    .option('--fp16', 'store the weights as float16 (half the size; loaded back as float32)', false)
    .action(async (pkl: string, flags: ImportFlags) => {
      process.stdout.write(`${await importCommand(pkl, flags)}\n`);
    });
}
