/**
 * Projecting an uploaded photo from the page: `project` (src/project) with live progress. The answer is a stream of
 * JSON lines — one per step ({ step, steps, loss }, with a base64 PNG of the current image about ten times in all),
 * then { done, loss } — and the resulting dlatents are kept with the photo, ready to be a style source or destination.
 * Closing the request aborts the projection, and so does a newer projection (the latest wins). The distance is LPIPS
 * when the studio was given vgg16.pt, else the pixel MSE; the network's stored noise maps stay fixed, so that the
 * dlatents alone reproduce the projection (`stylegan generate --dlatents`).
 */
import type { ServerResponse } from 'node:http';
import * as E from '../engine/index.js';
import { encodePng, toUint8 } from '../io/images.js';
import { isStyleGAN, requireStyleGAN, type AnyGenerator } from '../gen/index.js';
import { toLatentArray, inference } from '../gen/render.js';
import { project } from '../project/index.js';
import { RequestError } from './requests.js';
import type { Photo } from './photos.js';

/** The most steps one projection may run. */
export const MAX_PROJECTION_STEPS = 1000;

export interface ProjectionRequest {
  steps: number;
  space: 'w' | 'w+';
  class: number | null;
}

/** Checks a projection request's fields. */
export function parseProjection(o: Record<string, unknown>, labelSize: number): ProjectionRequest {
  const steps = o.steps ?? 100;
  if (typeof steps !== 'number' || !Number.isInteger(steps) || steps < 1 || steps > MAX_PROJECTION_STEPS) {
    throw new RequestError(`'steps' must be an integer in 1…${MAX_PROJECTION_STEPS}, got ${JSON.stringify(steps)}`);
  }
  const space = o.space ?? 'w';
  if (space !== 'w' && space !== 'w+') throw new RequestError(`'space' must be 'w' or 'w+', got ${JSON.stringify(space)}`);
  let cls: number | null = null;
  if (labelSize > 0) {
    const c = o.class ?? 0;
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c >= labelSize) throw new RequestError(`'class' must be an integer in 0…${labelSize - 1}, got ${JSON.stringify(c)}`);
    cls = c;
  }
  return { steps, space, class: cls };
}

/** Runs one projection at a time: starting one aborts the one before. */
export class Projections {
  private current: AbortController | null = null;

  constructor(private readonly vggPath: string | null) {}

  get loss(): 'lpips' | 'mse' {
    return this.vggPath ? 'lpips' : 'mse';
  }

  /** Streams the projection of `photo` onto `G` to `res`; stores the dlatents in the photo when it completes. */
  async stream(res: ServerResponse, G: AnyGenerator, { photo, request: r }: { photo: Photo; request: ProjectionRequest }): Promise<void> {
    if (!isStyleGAN(G)) throw new RequestError('a Progressive GAN has no latent space to project into');
    const S = requireStyleGAN(G, 'projection');
    const t = photo.target;
    if (t.width !== S.cfg.resolution || t.channels !== S.cfg.numChannels) throw new RequestError(`photo '${photo.id}' was prepared for another network`);
    this.current?.abort();
    const ctl = new AbortController();
    this.current = ctl;
    res.on('close', () => ctl.abort());
    const target = E.tidy(() => E.fromTypedArray(t.data, [t.height, t.width, t.channels]).permute(2, 0, 1).to('float32').div(127.5).sub(1).contiguous().to(S.synthesis.device));
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
    const every = Math.max(1, Math.round(r.steps / 10));
    try {
      const out = await project(S, target, {
        steps: r.steps, space: r.space, loss: this.loss, vggPath: this.vggPath ?? undefined, noise: 'const', classIndex: r.class ?? undefined, signal: ctl.signal,
        onStep: async (s) => {
          const line: Record<string, unknown> = { step: s.step, steps: s.steps, loss: s.loss };
          if (s.step % every === 0 || s.step === s.steps - 1) {
            const image = inference(() => toUint8(S.synthesis.forward(s.dlatents, { noise: 'const' })));
            line.image = Buffer.from(await encodePng(image)).toString('base64');
          }
          res.write(`${JSON.stringify(line)}\n`);
        },
      });
      photo.dlatents = toLatentArray(out.dlatents);
      out.dlatents.dispose();
      res.end(`${JSON.stringify({ done: true, loss: out.loss })}\n`);
    } catch (e) {
      if (ctl.signal.aborted) res.end(`${JSON.stringify({ error: 'cancelled (stopped, or a newer projection started)' })}\n`);
      else res.end(`${JSON.stringify({ error: (e as Error).message })}\n`);
    } finally {
      target.dispose();
      if (this.current === ctl) this.current = null;
    }
  }
}
