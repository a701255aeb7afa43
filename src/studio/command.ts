/**
 * The `stylegan` command line that reproduces a studio image, and whether it reproduces it exactly. Per-layer noise
 * strengths and a noise seed other than the image's seed have no command-line flag; a mix is a cell of the
 * `stylegan mix` grid; a photo's mix is rendered from the exported dlatents.
 */
import type { RenderRequest } from './requests.js';

export interface CommandLine {
  command: string;
  /** True when the command's image equals the studio's pixel for pixel. */
  exact: boolean;
  /** What the command writes, or why it is not exact. */
  note: string;
}

/** Shell quoting for a path. */
const quote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);

/** Ranges of sorted layer indices: [0,1,2,3,8] → '0-3,8'. */
export function layerRanges(layers: readonly number[]): string {
  const s = [...new Set(layers)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < s.length; i++) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j]! + 1) j++;
    out.push(i === j ? `${s[i]}` : `${s[i]}-${s[j]}`);
    i = j;
  }
  return out.join(',');
}

export function commandLine(r: RenderRequest, networkPath: string | undefined, arch: 'stylegan' | 'progan'): CommandLine {
  const common: string[] = [];
  if (networkPath !== undefined) common.push('--network', quote(networkPath));
  if (r.class !== null) common.push('--class', String(r.class));
  if (r.psi !== 1) common.push('--trunc', String(r.psi));
  if (r.cutoff !== undefined) common.push('--trunc-cutoff', r.cutoff === null ? 'all' : String(r.cutoff));
  if (arch === 'stylegan' && r.noise.mode !== 'const') common.push('--noise-mode', r.noise.mode);
  const problems: string[] = [];
  if (r.noise.mode !== 'none' && r.noise.strength?.some((s) => s !== 1)) problems.push('per-layer noise strengths have no command-line flag');
  if (r.noise.mode === 'random' && r.noise.seed !== r.seed) problems.push(`the command draws noise from seed ${r.seed}, the studio from noise seed ${r.noise.seed}`);
  const mix = r.mix && r.mix.layers.length ? r.mix : null;
  if ((mix && 'photo' in mix.source) || r.destination) {
    // The exported dlatents are already mixed and truncated, and carry the class.
    if (r.noise.mode === 'random') problems.push('rendering saved dlatents draws random noise from seed 0');
    const cmd = ['stylegan', 'generate', '--dlatents', 'dlatents.npy', '--outdir', 'out', ...common.slice(0, networkPath === undefined ? 0 : 2)];
    if (r.noise.mode !== 'const') cmd.push('--noise-mode', r.noise.mode);
    return { command: cmd.join(' '), exact: problems.length === 0, note: problems.join('; ') || 'renders the exported dlatents.npy to out/image0000.png' };
  }
  if (mix) {
    const cmd = ['stylegan', 'mix', '--rows', String(r.seed), '--cols', String((mix.source as { seed: number }).seed), '--styles', layerRanges(mix.layers), '--no-titles', '-o', 'mix.png', ...common];
    return { command: cmd.join(' '), exact: problems.length === 0, note: problems.join('; ') || 'the image is the bottom-right cell of mix.png' };
  }
  const cmd = ['stylegan', 'generate', '--seeds', String(r.seed), '--outdir', 'out', ...common];
  return { command: cmd.join(' '), exact: problems.length === 0, note: problems.join('; ') || `writes out/seed${String(r.seed).padStart(4, '0')}.png` };
}
