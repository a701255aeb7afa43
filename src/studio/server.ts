/**
 * The studio server: the page's static files and a small JSON API that renders through the library (see render.ts).
 * Bad requests get a 4xx with a message and never stop the server; bodies are bounded (JSON 64 KiB, photos 16 MiB);
 * requests from another origin, or (on loopback) for another host name, are refused. Renders answer PNG with the render time in `Server-Timing`;
 * a photo's projection streams its progress (projection.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { encodePng, type ImageBatch } from '../io/images.js';
import { encodeNpy } from '../io/npy.js';
import { writeVideo, hasFfmpeg, type LatentArray } from '../gen/index.js';
import {
  RequestError, parseJsonObject, parseRender, parseGrid, parseSeedsRequest, parseInterpolation, parseNoiseDetail, identifier,
} from './requests.js';
import { networkById, type StudioNetwork } from './networks.js';
import { renderImage, renderGallery, renderGrid, renderNoiseDetail, interpolationOf, frameStrip } from './render.js';
import { commandLine } from './command.js';
import { preparePhoto, PhotoShelf } from './photos.js';
import { parseProjection, Projections } from './projection.js';
import { readBody, sendJson, sendBytes, sendError, loadStaticFiles, serveStatic, LatestWins } from './http.js';

export const JSON_LIMIT = 64 * 1024;
export const PHOTO_LIMIT = 16 * 1024 * 1024;
/** The most pixels an interpolation strip may hold (frames × side²). */
const MAX_STRIP_PIXELS = 2 ** 25;

/** The page's folder in the package (this file runs from dist/src/studio/). */
export const defaultWebRoot = (): string => fileURLToPath(new URL('../../../studio/web/', import.meta.url));

export interface StudioOptions {
  networks: StudioNetwork[];
  webRoot?: string;
  /**
   * Accept only requests addressed to a loopback name (127.0.0.1, localhost, [::1]) — default true; turn it off when
   * serving on another address. It keeps a web page whose name was re-pointed at 127.0.0.1 (DNS rebinding) out.
   */
  loopbackOnly?: boolean;
  /** vgg16.pt for the LPIPS distance of photo projections; without it they use the pixel MSE. */
  vggPath?: string | null;
}

const LOOPBACK = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/i;

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<void>;

/** A PNG of the first image, downscaled so that its larger side is at most `preview` (when given and smaller). */
async function png(image: ImageBatch, preview: number | null): Promise<Uint8Array> {
  const bytes = await encodePng(image);
  if (preview === null || Math.max(image.width, image.height) <= preview) return bytes;
  const scale = preview / Math.max(image.width, image.height);
  const buf = await sharp(bytes).resize(Math.max(1, Math.round(image.width * scale)), Math.max(1, Math.round(image.height * scale)), { kernel: 'lanczos3' }).png().toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

const npyOf = (l: LatentArray): Uint8Array =>
  encodeNpy({ dtype: 'float32', shape: l.shape, data: new Uint8Array(l.data.buffer, l.data.byteOffset, l.data.byteLength) });

function timed<T>(fn: () => T): [T, string] {
  const t0 = performance.now();
  const out = fn();
  const ms = performance.now() - t0;
  return [out, `render;dur=${ms.toFixed(1)}`];
}

export function createStudioServer(o: StudioOptions): Server {
  const files = loadStaticFiles(o.webRoot ?? defaultWebRoot());
  const nets = o.networks;
  const photos = new PhotoShelf();
  const latest = new LatestWins();
  const projections = new Projections(o.vggPath ?? null);
  const ffmpeg = hasFfmpeg();

  const json = (body: Buffer) => parseJsonObject(body.toString('utf8'));
  const netOf = (j: Record<string, unknown>) => networkById(nets, identifier(j, 'network'));
  /** Parses, then renders only if no newer request on the same channel arrived meanwhile. */
  const fresh = async (req: IncomingMessage, j: Record<string, unknown>): Promise<void> => {
    const channel = typeof j.channel === 'string' ? j.channel.slice(0, 40) : 'main';
    const ticket = latest.claim(channel);
    if (await latest.stale(channel, ticket, req)) throw new RequestError('superseded by a newer request', 409);
  };
  const projected = (net: StudioNetwork, id: string): LatentArray => {
    const p = photos.get(id);
    if (!p.dlatents) throw new RequestError(`photo '${p.id}' has not been projected yet`, 409);
    if (p.dlatents.shape[1] !== net.info.numLayers) throw new RequestError(`photo '${p.id}' was projected with another network`);
    return p.dlatents;
  };
  /** Renders through renderImage with the dlatents of the photos the request names. */
  const renderWithPhotos = (net: StudioNetwork, r: ReturnType<typeof parseRender>) => renderImage(net.G, r, {
    photo: r.mix && 'photo' in r.mix.source ? projected(net, r.mix.source.photo) : null,
    destination: r.destination ? projected(net, r.destination.photo) : null,
  });

  /**
   * A route answering a picture: parse against the network, drop the request if a newer one on its channel arrived
   * (`channel` null: the request names it, default 'main'), render, answer PNG with the render time.
   */
  const pictureRoute = <R>({ channel, parse, draw, previewOf = () => null }: {
    channel: string | null;
    parse: (j: Record<string, unknown>, net: StudioNetwork) => R;
    draw: (net: StudioNetwork, r: R) => ImageBatch;
    previewOf?: (r: R) => number | null;
  }): Handler =>
    async (req, res, body) => {
      const j = json(body);
      const net = netOf(j);
      const r = parse(j, net);
      await fresh(req, channel === null ? j : { ...j, channel });
      const [image, timing] = timed(() => draw(net, r));
      sendBytes(res, await png(image, previewOf(r)), { type: 'image/png', headers: { 'Server-Timing': timing } });
    };

  const routes: Record<string, Handler> = {
    'GET /api/networks': async (_req, res) => sendJson(res, 200, { networks: nets.map((n) => n.info), video: ffmpeg ? ['mp4', 'gif', 'webp'] : ['gif', 'webp'], projection: true, projectionLoss: projections.loss }),
    'POST /api/render': pictureRoute({ channel: null, parse: (j, net) => parseRender(j, net.info), draw: (net, r) => renderWithPhotos(net, r).image, previewOf: (r) => r.preview }),
    'POST /api/command': async (_req, res, body) => {
      const j = json(body);
      const net = netOf(j);
      sendJson(res, 200, commandLine(parseRender(j, net.info), net.cliPath, net.info.arch));
    },
    'POST /api/dlatents': async (_req, res, body) => {
      const j = json(body);
      const net = netOf(j);
      const r = parseRender(j, net.info);
      const { dlatents } = renderWithPhotos(net, r);
      if (!dlatents) throw new RequestError('a Progressive GAN has no dlatents');
      sendBytes(res, npyOf(dlatents), { type: 'application/octet-stream', headers: { 'Content-Disposition': `attachment; filename="dlatents-seed${r.seed}.npy"` } });
    },
    'POST /api/gallery': pictureRoute({ channel: 'gallery', parse: (j, net) => parseSeedsRequest(j, net.info, 16), draw: (net, r) => renderGallery(net.G, r), previewOf: (r) => r.preview && r.preview * r.seeds.length }),
    'POST /api/grid': pictureRoute({ channel: 'grid', parse: (j, net) => parseGrid(j, net.info), draw: (net, r) => renderGrid(net.G, r) }),
    'POST /api/noise-detail': pictureRoute({ channel: 'noise-detail', parse: (j, net) => parseNoiseDetail(j, net.info), draw: (net, r) => renderNoiseDetail(net.G, r) }),
    'POST /api/interpolation': async (req, res, body) => {
      const j = json(body);
      const net = netOf(j);
      const r = parseInterpolation(j, net.info);
      const side = Math.min(r.preview ?? Infinity, net.info.resolution);
      if (r.frames * side * side > MAX_STRIP_PIXELS) throw new RequestError(`${r.frames} frames of ${side}² are too many: lower 'frames' or 'preview'`);
      await fresh(req, { channel: 'interpolation', ...j });
      if (r.format === 'png') {
        const [frames, timing] = timed(() => [...interpolationOf(net.G, r)]);
        const strip = await png(frameStrip(frames), null);
        const scaled = side < net.info.resolution ? await sharp(strip).resize(side, side * r.frames, { kernel: 'lanczos3' }).png().toBuffer() : strip;
        sendBytes(res, scaled, { type: 'image/png', headers: { 'Server-Timing': timing, 'X-Frames': String(r.frames) } });
        return;
      }
      if (r.format === 'mp4' && !ffmpeg) throw new RequestError('MP4 export needs ffmpeg on the server; choose GIF or WebP');
      const dir = mkdtempSync(join(tmpdir(), 'stylegan-studio-'));
      try {
        const file = join(dir, `interpolation.${r.format}`);
        await writeVideo(file, interpolationOf(net.G, r), { fps: r.fps });
        const type = r.format === 'mp4' ? 'video/mp4' : `image/${r.format}`;
        sendBytes(res, readFileSync(file), { type, headers: { 'Content-Disposition': `attachment; filename="interpolation-${r.seeds.join('-')}.${r.format}"` } });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    'POST /api/photos': async (req, res, body) => {
      const url = new URL(req.url ?? '/', 'http://studio');
      const net = networkById(nets, identifier({ network: url.searchParams.get('network') ?? '' }, 'network'));
      const p = photos.add(await preparePhoto(body, net.info.resolution, net.info.channels));
      sendJson(res, 200, { id: p.id, width: p.width, height: p.height, resolution: p.target.width, projected: false });
    },
  };

  const dispatch = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://studio');
    const host = req.headers.host ?? '';
    if ((o.loopbackOnly ?? true) && !LOOPBACK.test(host)) throw new RequestError(`requests for ${host.slice(0, 100) || 'no host'} are not accepted (this studio serves 127.0.0.1)`, 403);
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host}`) throw new RequestError(`requests from ${origin.slice(0, 100)} are not accepted`, 403);
    const photo = /^\/api\/photos\/(p-[0-9a-f]{12})\.(png|npy)$/.exec(url.pathname);
    if (req.method === 'GET' && photo) {
      const p = photos.get(photo[1]!);
      const t = p.target;
      if (photo[2] === 'png') sendBytes(res, await encodePng({ data: t.data, count: 1, width: t.width, height: t.height, channels: t.channels }), { type: 'image/png' });
      else if (!p.dlatents) throw new RequestError(`photo '${p.id}' has not been projected yet`, 409);
      else sendBytes(res, npyOf(p.dlatents), { type: 'application/octet-stream', headers: { 'Content-Disposition': `attachment; filename="projected-${p.id}.npy"` } });
      return;
    }
    const projectRoute = /^\/api\/photos\/(p-[0-9a-f]{12})\/project$/.exec(url.pathname);
    if (req.method === 'POST' && projectRoute) {
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) throw new RequestError('send JSON (Content-Type: application/json)', 415);
      const j = json(await readBody(req, JSON_LIMIT));
      const net = netOf(j);
      const p = photos.get(projectRoute[1]!);
      await projections.stream(res, net.G, { photo: p, request: parseProjection(j, net.info.labelSize) });
      return;
    }
    const handler = routes[`${req.method} ${url.pathname}`];
    if (handler) {
      const isPhoto = url.pathname === '/api/photos';
      const type = req.headers['content-type'] ?? '';
      if (req.method === 'POST' && !isPhoto && !type.startsWith('application/json')) throw new RequestError('send JSON (Content-Type: application/json)', 415);
      const body = req.method === 'POST' ? await readBody(req, isPhoto ? PHOTO_LIMIT : JSON_LIMIT) : Buffer.alloc(0);
      await handler(req, res, body);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new RequestError(`${req.method} is not supported here`, 405);
    if (url.pathname.startsWith('/api/')) throw new RequestError(`no such API: ${url.pathname.slice(0, 200)}`, 404);
    serveStatic(files, url.pathname, res);
  };

  return createServer((req, res) => {
    dispatch(req, res).catch((e: unknown) => sendError(res, e, e instanceof RequestError && e.status === 413));
  });
}
