/**
 * The studio server without a browser: malformed, oversized, cross-origin and path-traversal requests get a 4xx with a
 * message and the server keeps serving; stale requests lose to newer ones; the command lines it proposes; and
 * `stylegan studio` as a process.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { deflateSync } from 'node:zlib';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import sharp from 'sharp';
import { LatestWins } from '../src/studio/http.js';
import { decodeNpy } from '../src/io/npy.js';
import { commandLine, layerRanges } from '../src/studio/command.js';
import { parseRender } from '../src/studio/requests.js';
import { PNG_SIGNATURE } from '../src/data/png.js';
import { tempDir } from './helpers/temp-dir.js';
import { saveTinyNetworks } from './helpers/gen-nets.js';
import { ROOT } from './helpers/python.js';
import { startStudio, type RunningStudio } from './helpers/studio.js';

const dir = tempDir('sgts-studio-api');
let nets: Awaited<ReturnType<typeof saveTinyNetworks>>;
let studio: RunningStudio;

before(async () => {
  nets = await saveTinyNetworks(join(dir, 'nets'));
  studio = await startStudio([nets.rgb, nets.progan]);
});
after(() => studio?.close());

const post = (path: string, body: BodyInit, headers: Record<string, string> = { 'Content-Type': 'application/json' }) =>
  fetch(new URL(path, studio.url), { method: 'POST', body, headers });

async function answer(res: Response): Promise<[number, string]> {
  return [res.status, ((await res.json()) as { error: string }).error];
}

/** A raw HTTP request (no URL normalisation on the way), answered with its status line. */
function raw(request: string): Promise<string> {
  const { port } = new URL(studio.url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), '127.0.0.1', () => s.write(request));
    let text = '';
    s.on('data', (d) => (text += d.toString('latin1')));
    s.on('end', () => resolve(text.split('\r\n')[0]!));
    s.on('error', reject);
  });
}

async function stillServing(): Promise<void> {
  const res = await post('/api/render', JSON.stringify({ network: 'n0', seed: 1 }));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'image/png');
  assert.match(res.headers.get('server-timing')!, /^render;dur=\d+\.\d$/);
}

/** A PNG with a valid header claiming `w`×`h` RGB and `idat` as its compressed data (CRCs are not checked before inflating here). */
function pngWith(w: number, h: number, idat: Uint8Array): Uint8Array {
  const chunk = (type: string, data: Uint8Array) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'latin1');
    out.set(data, 8);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array())]);
}

test('malformed requests get a 4xx with a message, and the server keeps serving', async () => {
  assert.deepEqual(await answer(await post('/api/render', '{"network":')), [400, 'the request body is not JSON (Unexpected end of JSON input)']);
  assert.deepEqual(await answer(await post('/api/render', '[1,2]')), [400, 'the request body must be a JSON object']);
  assert.deepEqual(await answer(await post('/api/render', JSON.stringify({ network: 'n0', seed: 2 ** 32 }))), [400, "'seed' must be an integer in 0…4294967295, got 4294967296"]);
  assert.deepEqual(await answer(await post('/api/render', JSON.stringify({ network: 'n9', seed: 1 }))), [404, "no network 'n9'"]);
  assert.deepEqual(await answer(await post('/api/render', JSON.stringify({ network: '../../etc/passwd', seed: 1 }))), [400, "'network' must be an id given out by the studio"]);
  assert.deepEqual(await answer(await post('/api/render', JSON.stringify({ network: 'n0', seed: 1, psi: 'x' }))), [400, "'psi' must be a number in -2…2, got \"x\""]);
  assert.deepEqual(await answer(await post('/api/render', JSON.stringify({ network: 'n0', seed: 1, noise: { mode: 'loud' } }))), [400, "'noise.mode' must be one of random, const, none, got \"loud\""]);
  assert.deepEqual(await answer(await post('/api/render', JSON.stringify({ network: 'n0', seed: 1, mix: { source: { seed: 2 }, layers: [9] } }))), [400, "'layers' must be a list of at most 18 integers in 0…5"]);
  assert.deepEqual(await answer(await post('/api/render', JSON.stringify({ network: 'n0', seed: 1, mix: { source: { photo: 'p-000000000000' }, layers: [0] } }))), [404, "no photo 'p-000000000000' (uploads are kept while the studio runs, 8 at most)"]);
  assert.deepEqual(await answer(await post('/api/render', JSON.stringify({ network: 'n1', seed: 1, psi: 0.5 }))), [400, 'the truncation trick needs a StyleGAN generator; this network is a Progressive GAN (16²)']);
  assert.deepEqual(await answer(await post('/api/render', 'x'.repeat(70_000))), [413, 'the request body is larger than 65536 bytes']);
  assert.deepEqual(await answer(await post('/api/render', '{}', { 'Content-Type': 'text/plain' })), [415, 'send JSON (Content-Type: application/json)']);
  assert.deepEqual(await answer(await post('/api/render', '{}', { 'Content-Type': 'application/json', Origin: 'http://evil.example' })), [403, 'requests from http://evil.example are not accepted']);
  assert.deepEqual(await answer(await fetch(new URL('/api/render', studio.url), { method: 'DELETE' })), [405, 'DELETE is not supported here']);
  assert.deepEqual(await answer(await fetch(new URL('/api/nothing', studio.url))), [404, 'no such API: /api/nothing']);
  assert.deepEqual(await answer(await post('/api/interpolation', JSON.stringify({ network: 'n0', seeds: [1] }))), [400, "'seeds' needs at least 2 seeds to interpolate between"]);
  assert.deepEqual(await answer(await post('/api/grid', JSON.stringify({ network: 'n0', rows: [1], cols: [2], layers: [] }))), [400, "'layers' selects no layer"]);
  for (const path of ['/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2fetc%2fpasswd', '/index.html%00.png', '//etc/passwd']) {
    assert.equal(await raw(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`), 'HTTP/1.1 404 Not Found', path);
  }
  assert.equal(await raw('GARBAGE\r\n\r\n'), 'HTTP/1.1 400 Bad Request');
  assert.equal(await raw('GET / HTTP/1.1\r\nHost: evil.example:7860\r\nConnection: close\r\n\r\n'), 'HTTP/1.1 403 Forbidden');
  assert.equal(await raw('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'), 'HTTP/1.1 200 OK');
  await stillServing();
});

test('photo uploads: size limit, bad images and decompression bombs get a 400/413; a good one is kept', async () => {
  const upload = (bytes: Uint8Array) => post('/api/photos?network=n0', new Blob([bytes as Uint8Array<ArrayBuffer>]), {});
  assert.deepEqual(await answer(await upload(new Uint8Array(0))), [400, 'photo: the upload is empty']);
  assert.deepEqual(await answer(await upload(new Uint8Array(17 * 1024 * 1024))), [413, 'the request body is larger than 16777216 bytes']);
  assert.deepEqual(await answer(await upload(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]))), [400, 'photo: cannot read image (Input buffer has corrupt header: VipsJpeg: premature end of JPEG image)']);
  assert.deepEqual(await answer(await upload(pngWith(100_000, 100_000, deflateSync(Buffer.alloc(10))))), [400, 'photo: declares 100000x100000 pixels, more than the 67108864 an image may have (8192x8192)']);
  // 4 MB of zeros inflate to 4 GB; the header promises 64×64, so inflating stops there.
  const [status, message] = await answer(await upload(pngWith(64, 64, deflateSync(Buffer.alloc(4 << 20)))));
  assert.equal(status, 400);
  assert.match(message, /^photo: corrupt PNG/);
  assert.deepEqual(await answer(await post('/api/photos?network=zz', new Blob([new Uint8Array(8)]), {})), [404, "no network 'zz'"]);
  await stillServing();
});

test('photo projection: bad steps, space, photo or network get a 4xx; a newer projection cancels the running one; the result downloads as .npy', async () => {
  const png = await sharp({ create: { width: 20, height: 16, channels: 3, background: { r: 90, g: 140, b: 30 } } }).png().toBuffer();
  const up = await post('/api/photos?network=n0', new Blob([new Uint8Array(png)]), {});
  assert.equal(up.status, 200);
  const id = ((await up.json()) as { id: string }).id;
  const project = (j: Record<string, unknown>, photo = id) => post(`/api/photos/${photo}/project`, JSON.stringify({ network: 'n0', ...j }));
  assert.deepEqual(await answer(await project({ steps: 0 })), [400, "'steps' must be an integer in 1…1000, got 0"]);
  assert.deepEqual(await answer(await project({ steps: 1001 })), [400, "'steps' must be an integer in 1…1000, got 1001"]);
  assert.deepEqual(await answer(await project({ steps: 2.5 })), [400, "'steps' must be an integer in 1…1000, got 2.5"]);
  assert.deepEqual(await answer(await project({ steps: '5' })), [400, "'steps' must be an integer in 1…1000, got \"5\""]);
  assert.deepEqual(await answer(await project({ steps: 5, space: 'z' })), [400, "'space' must be 'w' or 'w+', got \"z\""]);
  assert.deepEqual(await answer(await project({ steps: 5 }, 'p-000000000000')), [404, "no photo 'p-000000000000' (uploads are kept while the studio runs, 8 at most)"]);
  assert.deepEqual(await answer(await project({ steps: 5, network: 'n1' })), [400, 'a Progressive GAN has no latent space to project into']);
  assert.deepEqual(await answer(await post(`/api/photos/${id}/project`, '{}', { 'Content-Type': 'text/plain' })), [415, 'send JSON (Content-Type: application/json)']);
  assert.deepEqual(await answer(await fetch(new URL(`/api/photos/${id}.npy`, studio.url))), [409, `photo '${id}' has not been projected yet`]);
  await stillServing();

  const lines = async (res: Response) => (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const long = await project({ steps: 1000 });
  assert.equal(long.headers.get('content-type'), 'application/x-ndjson');
  const reader = long.body!.getReader();
  await reader.read(); // the long one is running
  const short = await lines(await project({ steps: 3, space: 'w+' }));
  assert.deepEqual(short.slice(0, 3).map((l) => [l.step, l.steps, typeof l.loss]), [[0, 3, 'number'], [1, 3, 'number'], [2, 3, 'number']]);
  assert.equal(short[3]!.done, true);
  assert.equal(short.length, 4);
  let rest = '';
  for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
  assert.deepEqual(JSON.parse(rest.trim().split('\n').at(-1)!), { error: 'cancelled (stopped, or a newer projection started)' });
  const npy = await fetch(new URL(`/api/photos/${id}.npy`, studio.url));
  assert.equal(npy.status, 200);
  assert.deepEqual(decodeNpy(new Uint8Array(await npy.arrayBuffer())).shape, [1, 6, 8]);
  await stillServing();
});

test('photo projection with vgg16.pt (a stand-in): the studio says LPIPS and projects with it', async () => {
  const lpips = await startStudio([nets.rgb], join(ROOT, 'test/fixtures/detectors/vgg16-standin.pt'));
  try {
    const info = (await (await fetch(new URL('/api/networks', lpips.url))).json()) as Record<string, unknown>;
    assert.deepEqual([info.projection, info.projectionLoss], [true, 'lpips']);
    const png = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 200, g: 40, b: 90 } } }).png().toBuffer();
    const up = await fetch(new URL('/api/photos?network=n0', lpips.url), { method: 'POST', body: new Uint8Array(png) });
    const id = ((await up.json()) as { id: string }).id;
    const res = await fetch(new URL(`/api/photos/${id}/project`, lpips.url), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ network: 'n0', steps: 2 }) });
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines.map((l) => l.done ?? l.step), [0, 1, true]);
    assert.equal(typeof lines[2]!.loss, 'number');
  } finally {
    await lpips.close();
  }
  const info = (await (await fetch(new URL('/api/networks', studio.url))).json()) as Record<string, unknown>;
  assert.deepEqual([info.projection, info.projectionLoss], [true, 'mse']);
});

test('latest request wins: a request is stale once a newer one on its channel arrived', async () => {
  const lw = new LatestWins();
  const req = { socket: { destroyed: false } } as unknown as IncomingMessage;
  const a = lw.claim('main');
  const g = lw.claim('gallery');
  const b = lw.claim('main');
  assert.deepEqual([await lw.stale('main', a, req), await lw.stale('main', b, req), await lw.stale('gallery', g, req)], [true, false, false]);
  const gone = { socket: { destroyed: true } } as unknown as IncomingMessage;
  assert.equal(await lw.stale('main', lw.claim('main'), gone), true);
  // Over HTTP: two requests sent together on one channel; the first is answered 409 or rendered, the last always renders.
  const body = (seed: number) => JSON.stringify({ network: 'n0', seed, channel: 'test' });
  const [first, last] = await Promise.all([post('/api/render', body(1)), post('/api/render', body(2))]);
  assert.ok([200, 409].includes(first.status), String(first.status));
  assert.equal(last.status, 200);
});

test('the command line of a studio image, and whether it is exact', () => {
  const shape = { numLayers: 6, labelSize: 0, resolution: 16 };
  const r = (o: object) => parseRender({ network: 'n0', seed: 85, ...o }, shape);
  assert.equal(layerRanges([8, 0, 1, 2, 3, 5]), '0-3,5,8');
  assert.deepEqual(commandLine(r({ psi: 0.7 }), undefined, 'stylegan'), { command: 'stylegan generate --seeds 85 --outdir out --trunc 0.7', exact: true, note: 'writes out/seed0085.png' });
  assert.deepEqual(commandLine(r({ cutoff: null, noise: { mode: 'random' } }), 'my nets/a.pkl', 'stylegan'),
    { command: "stylegan generate --seeds 85 --outdir out --network 'my nets/a.pkl' --trunc-cutoff all --noise-mode random", exact: true, note: 'writes out/seed0085.png' });
  assert.deepEqual(commandLine(r({ mix: { source: { seed: 3 }, layers: [0, 1, 4] } }), 'a.pkl', 'stylegan'),
    { command: 'stylegan mix --rows 85 --cols 3 --styles 0-1,4 --no-titles -o mix.png --network a.pkl', exact: true, note: 'the image is the bottom-right cell of mix.png' });
  assert.deepEqual(commandLine(r({ noise: { mode: 'random', seed: 9, strength: [1, 1, 0, 1, 2, 1] } }), undefined, 'stylegan'), {
    command: 'stylegan generate --seeds 85 --outdir out --noise-mode random', exact: false,
    note: 'per-layer noise strengths have no command-line flag; the command draws noise from seed 85, the studio from noise seed 9',
  });
  assert.deepEqual(commandLine(r({ mix: { source: { photo: 'p-0123456789ab' }, layers: [0] } }), 'a.pkl', 'stylegan'),
    { command: 'stylegan generate --dlatents dlatents.npy --outdir out --network a.pkl', exact: true, note: 'renders the exported dlatents.npy to out/image0000.png' });
});

test('stylegan studio (a separate process) prints its URL, serves the page and the default network, and stops on SIGINT', async () => {
  const p = spawn(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), '--threads', '1', 'studio', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^stylegan studio: (http:\/\/127\.0\.0\.1:\d+\/) \(Ctrl\+C to stop\)\n$/.exec(out);
      if (m) resolve(m[1]!);
    });
    p.on('exit', () => reject(new Error(`exited: ${out}${err}`)));
  });
  const page = await fetch(url);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<title>StyleGAN studio<\/title>/);
  const nets = (await (await fetch(new URL('/api/networks', url))).json()) as { networks: { name: string; resolution: number; labelSize: number }[] };
  assert.deepEqual(nets.networks.map((n) => [n.name, n.resolution, n.labelSize]), [['fmnist32-stylegan.safetensors (default)', 32, 10]]);
  const code = new Promise((resolve) => p.on('exit', resolve));
  p.kill('SIGINT');
  assert.equal(await code, 0);
  assert.equal(err, '');
});

test('stylegan studio: a missing network file fails at start with the file named', async () => {
  const p = spawn(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'studio', '--port', '0', '--network', join(dir, 'nope.pkl')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise((resolve) => p.on('exit', resolve));
  assert.deepEqual([code, err], [1, `stylegan: ${join(dir, 'nope.pkl')}: no such network file\n`]);
});
