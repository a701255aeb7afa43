/** `stylegan info`: what a network file (official pickle or stylegan-ts checkpoint) holds. */
import type { Command } from 'commander';
import { inspectNetworkFile, type NetworkFileInfo } from '../io/network-info.js';

const count = (n: number | undefined) => (n === undefined ? '?' : n.toLocaleString('en-US'));

/** The report as text lines. */
export function formatInfo(info: NetworkFileInfo, withTensors: boolean): string[] {
  const lines = [
    `file:       ${info.path} (${(info.bytes / 2 ** 20).toFixed(1)} MiB)`,
    `format:     ${info.format}`,
    `resolution: ${info.resolution === undefined ? '?' : `${info.resolution}x${info.resolution}`}`,
    `channels:   ${info.channels ?? '?'}`,
    `labels:     ${info.labels ?? '?'}${info.classNames ? ` (${info.classNames.map((n, i) => `${i} ${n}`).join(', ')})` : ''}`,
    'networks:',
  ];
  const width = Math.max(...info.networks.map((n) => n.role.length));
  for (const n of info.networks) {
    lines.push(`  ${n.role.padEnd(width)}  ${n.kind}: ${count(n.parameters)} parameters, ${n.tensors.length} tensors, ${count(n.values)} values`);
    if (withTensors) for (const t of n.tensors) lines.push(`    ${t.name} ${t.dtype} [${t.shape.join(', ')}]`);
  }
  if (info.config) lines.push(`config:     ${JSON.stringify(info.config)}`);
  lines.push('metadata:');
  for (const [k, v] of Object.entries(info.metadata)) lines.push(`  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  if (info.problem) lines.push(`cannot build networks: ${info.problem}`);
  return lines;
}

export function register(program: Command): void {
  program
    .command('info')
    .description('describe a network file: official StyleGAN1 / ProGAN / stylegan2-ada pickle or stylegan-ts checkpoint')
    .argument('<file>', '.pkl or .safetensors')
    .option('--tensors', 'list every tensor (name, dtype, shape)', false)
    .option('--json', 'print the whole report as one JSON object', false)
    .action(async (file: string, flags: { tensors: boolean; json: boolean }) => {
      const info = await inspectNetworkFile(file);
      process.stdout.write(flags.json ? `${JSON.stringify(info)}\n` : `${formatInfo(info, flags.tensors).join('\n')}\n`);
    });
}
