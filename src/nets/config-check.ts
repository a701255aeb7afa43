/**
 * Checks an architecture config field by field before anything is built from it: configs come from checkpoint
 * metadata (files from anywhere) and from `--net key=value` overrides. Every field must be known for the
 * architecture, of the right type and within a range that builds in bounded time and memory (the largest official
 * networks, FFHQ 1024² at fmapMax 512, are well inside).
 */

type Check = { kind: 'int' | 'number'; min: number; max: number } | { kind: 'bool' } | { kind: 'fused' } | { kind: 'arch' } | { kind: 'resolution' };

const int = (min: number, max: number): Check => ({ kind: 'int', min, max });
const num = (min: number, max: number): Check => ({ kind: 'number', min, max });
const bool: Check = { kind: 'bool' };

const COMMON: Record<string, Check> = {
  arch: { kind: 'arch' }, resolution: { kind: 'resolution' }, numChannels: int(1, 4), labelSize: int(0, 65536),
  fmapBase: int(1, 65536), fmapDecay: num(0, 8), fmapMax: int(1, 4096), fusedScale: { kind: 'fused' },
  mbstdGroupSize: int(0, 1024), mbstdNumFeatures: int(0, 64),
};

const FIELDS: Record<'stylegan' | 'progan', Record<string, Check>> = {
  stylegan: {
    ...COMMON, latentSize: int(1, 4096), dlatentSize: int(1, 4096), mappingLayers: int(1, 64), mappingFmaps: int(1, 4096),
    mappingLrmul: num(1e-8, 1e3), useNoise: bool, useStyles: bool, useInstanceNorm: bool, usePixelNorm: bool,
    truncationPsi: num(-16, 16), truncationCutoff: int(0, 64), dlatentAvgBeta: num(0, 1), styleMixingProb: num(0, 1),
  },
  progan: { ...COMMON, latentSize: int(1, 4096), normalizeLatents: bool, usePixelNorm: bool, usePixelNormEps: num(0, 1) },
};

function problem(key: string, value: unknown, check: Check): string | null {
  const shown = typeof value === 'string' ? `'${value.slice(0, 40)}'` : typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value;
  switch (check.kind) {
    case 'arch':
      return value === 'stylegan' || value === 'progan' ? null : `arch must be 'stylegan' or 'progan', got ${shown}`;
    case 'bool':
      return typeof value === 'boolean' ? null : `${key} must be true or false, got ${shown}`;
    case 'resolution':
      return typeof value === 'number' && [4, 8, 16, 32, 64, 128, 256, 512, 1024].includes(value) ? null : `${key} must be a power of two in 4…1024, got ${shown}`;
    case 'fused':
      return typeof value === 'boolean' || value === 'auto' ? null : `${key} must be true, false or 'auto', got ${shown}`;
    default: {
      const ok = typeof value === 'number' && Number.isFinite(value) && (check.kind === 'number' || Number.isInteger(value));
      if (!ok || (value as number) < check.min || (value as number) > check.max) {
        return `${key} must be ${check.kind === 'int' ? 'an integer' : 'a number'} in ${check.min}…${check.max}, got ${shown}`;
      }
      return null;
    }
  }
}

/** Throws `<problem>` (no file name: the caller adds it) for the first bad field of `cfg`. */
export function checkConfig(cfg: unknown): void {
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) throw new Error(`the config must be an object, got ${cfg === null ? 'null' : typeof cfg}`);
  const record = cfg as Record<string, unknown>;
  const arch = record.arch;
  if (arch !== 'stylegan' && arch !== 'progan') throw new Error(problem('arch', arch, { kind: 'arch' })!);
  const fields = FIELDS[arch];
  const unknown = Object.keys(record).filter((k) => !(k in fields));
  if (unknown.length) {
    throw new Error(`unknown ${arch} config key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k.slice(0, 40)}'`).join(', ')} (known: ${Object.keys(fields).join(', ')})`);
  }
  for (const [key, check] of Object.entries(fields)) {
    if (!(key in record)) throw new Error(`${key} is missing`);
    const p = problem(key, record[key], check);
    if (p) throw new Error(p);
  }
}
