/**
 * What the studio page asks for, checked field by field. Every request is a small JSON object; a field that is
 * missing, of the wrong type or out of range is a `RequestError` whose message names the field, and the server
 * answers it with 400. Nothing here knows about files: networks and photos are named by the ids the server gave out.
 */
import { MAX_SEED, NOISE_MODES, type NoiseMode } from '../gen/index.js';

/** A problem with a request: answered with `status` and `message`, never fatal to the server. */
export class RequestError extends Error {
  constructor(message: string, readonly status = 400) {
    super(message);
  }
}

type Json = Record<string, unknown>;

/** The JSON object of a request body. */
export function parseJsonObject(text: string): Json {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new RequestError(`the request body is not JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new RequestError('the request body must be a JSON object');
  return v as Json;
}

function integer(o: Json, key: string, { min, max, fallback }: { min: number; max: number; fallback?: number }): number {
  const v = o[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new RequestError(`'${key}' must be an integer in ${min}…${max}, got ${JSON.stringify(o[key] ?? null)}`);
  }
  return v;
}

function number(o: Json, key: string, { min, max, fallback }: { min: number; max: number; fallback: number }): number {
  const v = o[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new RequestError(`'${key}' must be a number in ${min}…${max}, got ${JSON.stringify(o[key] ?? null)}`);
  }
  return v;
}

function object(o: Json, key: string): Json | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw new RequestError(`'${key}' must be an object`);
  return v as Json;
}

function integers(o: Json, key: string, { min, max, maxCount }: { min: number; max: number; maxCount: number }): number[] {
  const v = o[key];
  if (!Array.isArray(v) || v.length > maxCount || v.some((x) => typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max)) {
    throw new RequestError(`'${key}' must be a list of at most ${maxCount} integers in ${min}…${max}`);
  }
  return v as number[];
}

/** The id of a network or photo: short, plain. */
export function identifier(o: Json, key: string): string {
  const v = o[key];
  if (typeof v !== 'string' || !/^[a-z0-9-]{1,40}$/.test(v)) throw new RequestError(`'${key}' must be an id given out by the studio`);
  return v;
}

/** Where the styles of a mix come from: another seed, or the dlatents of a projected photo. */
export type StyleSource = { seed: number } | { photo: string };

/** One image: the latent, truncation, noise and (optionally) styles copied from a source. */
export interface RenderRequest {
  network: string;
  seed: number;
  /** Class of a conditional network (null for unconditional ones). */
  class: number | null;
  psi: number;
  /** Layers ψ applies to; null = all, undefined = the network's default. */
  cutoff: number | null | undefined;
  noise: {
    mode: NoiseMode;
    /** Seed of the 'random' noise maps (the image's seed reproduces `stylegan generate --noise-mode random`). */
    seed: number;
    /** Strength per synthesis layer (0 = off; 1 = as trained); null = 1 everywhere. */
    strength: number[] | null;
  };
  mix: { source: StyleSource; layers: number[] } | null;
  /** A projected photo whose dlatents replace the seed's as the destination (null: the seed). */
  destination: { photo: string } | null;
  /** Largest side of the returned PNG (a downscaled preview); null = the network's resolution. */
  preview: number | null;
}

/** The network's shape that a request is checked against. */
export interface NetworkShape {
  numLayers: number;
  labelSize: number;
  resolution: number;
}

const MAX_LAYERS = 18;

export function parseRender(o: Json, net: NetworkShape): RenderRequest {
  const seed = integer(o, 'seed', { min: 0, max: MAX_SEED });
  const cls = net.labelSize > 0 ? integer(o, 'class', { min: 0, max: net.labelSize - 1, fallback: 0 }) : null;
  if (net.labelSize === 0 && o.class !== undefined && o.class !== null) throw new RequestError("'class' given, but this network is unconditional");
  const cutoff = o.cutoff === undefined ? undefined : o.cutoff === null || o.cutoff === 'all' ? null : integer(o, 'cutoff', { min: 0, max: net.numLayers });
  const n = object(o, 'noise') ?? {};
  const mode = n.mode ?? 'const';
  if (!NOISE_MODES.includes(mode as NoiseMode)) throw new RequestError(`'noise.mode' must be one of ${NOISE_MODES.join(', ')}, got ${JSON.stringify(mode)}`);
  let strength: number[] | null = null;
  if (n.strength !== undefined && n.strength !== null) {
    const s = n.strength;
    if (!Array.isArray(s) || s.length !== net.numLayers || s.some((x) => typeof x !== 'number' || !Number.isFinite(x) || x < 0 || x > 4)) {
      throw new RequestError(`'noise.strength' must list ${net.numLayers} numbers in 0…4 (one per layer)`);
    }
    strength = s as number[];
  }
  const m = object(o, 'mix');
  let mix: RenderRequest['mix'] = null;
  if (m) {
    const src = object(m, 'source');
    if (!src) throw new RequestError("'mix.source' is missing");
    const source: StyleSource = src.photo !== undefined ? { photo: identifier(src, 'photo') } : { seed: integer(src, 'seed', { min: 0, max: MAX_SEED }) };
    mix = { source, layers: integers(m, 'layers', { min: 0, max: net.numLayers - 1, maxCount: MAX_LAYERS }) };
  }
  const dst = object(o, 'destination');
  const destination = dst ? { photo: identifier(dst, 'photo') } : null;
  const preview = o.preview === undefined || o.preview === null ? null : integer(o, 'preview', { min: 8, max: 4096 });
  return {
    network: identifier(o, 'network'), seed, class: cls, psi: number(o, 'psi', { min: -2, max: 2, fallback: 1 }), cutoff,
    noise: { mode: mode as NoiseMode, seed: integer(n, 'seed', { min: 0, max: MAX_SEED, fallback: seed }), strength }, mix, destination, preview,
  };
}

/** The paper's grid: destinations as rows, sources as columns, the same layers copied in every row. */
export interface GridRequest extends Omit<RenderRequest, 'mix' | 'noise'> {
  rows: number[];
  cols: number[];
  layers: number[];
  noiseMode: NoiseMode;
}

export function parseGrid(o: Json, net: NetworkShape): GridRequest {
  const rows = integers(o, 'rows', { min: 0, max: MAX_SEED, maxCount: 8 });
  const base = parseRender({ seed: rows[0] ?? 0, ...o, mix: null }, net);
  const cols = integers(o, 'cols', { min: 0, max: MAX_SEED, maxCount: 8 });
  if (rows.length === 0 || cols.length === 0) throw new RequestError("'rows' and 'cols' need at least one seed each");
  const layers = integers(o, 'layers', { min: 0, max: net.numLayers - 1, maxCount: MAX_LAYERS });
  if (layers.length === 0) throw new RequestError("'layers' selects no layer");
  return { ...base, rows, cols, layers, noiseMode: base.noise.mode };
}

/** A list of seeds rendered side by side (the gallery), or as the frames of an interpolation. */
export interface SeedsRequest extends RenderRequest {
  seeds: number[];
}

export function parseSeedsRequest(o: Json, net: NetworkShape, maxSeeds: number): SeedsRequest {
  const seeds = integers(o, 'seeds', { min: 0, max: MAX_SEED, maxCount: maxSeeds });
  if (seeds.length === 0) throw new RequestError("'seeds' is empty");
  return { ...parseRender({ seed: seeds[0], ...o, mix: null }, net), seeds };
}

export interface InterpolationRequest extends SeedsRequest {
  space: 'z' | 'w';
  frames: number;
  format: 'png' | 'gif' | 'webp' | 'mp4';
  fps: number;
}

export function parseInterpolation(o: Json, net: NetworkShape): InterpolationRequest {
  const r = parseSeedsRequest(o, net, 8);
  if (r.seeds.length < 2) throw new RequestError("'seeds' needs at least 2 seeds to interpolate between");
  const space = o.space ?? 'z';
  if (space !== 'z' && space !== 'w') throw new RequestError(`'space' must be 'z' or 'w', got ${JSON.stringify(space)}`);
  const format = o.format ?? 'png';
  if (!['png', 'gif', 'webp', 'mp4'].includes(format as string)) throw new RequestError(`'format' must be png, gif, webp or mp4, got ${JSON.stringify(format)}`);
  return { ...r, space, frames: integer(o, 'frames', { min: 2, max: 120, fallback: 24 }), format: format as InterpolationRequest['format'], fps: integer(o, 'fps', { min: 1, max: 60, fallback: 12 }) };
}

/** The noise-detail view: per-pixel std over `samples` noise samples. */
export function parseNoiseDetail(o: Json, net: NetworkShape): RenderRequest & { samples: number } {
  return { ...parseRender({ ...o, mix: null }, net), samples: integer(o, 'samples', { min: 2, max: 64, fallback: 16 }) };
}
