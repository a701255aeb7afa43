// The stylegan-ts studio without a server: the exported ONNX graphs run in the browser on onnxruntime-web, with
// WebGPU when the browser has an adapter and WebAssembly otherwise (?backend=wasm|webgpu forces one). Truncation,
// style mixing, interpolation and the per-layer noise are computed here, on the w average and stored noise maps of
// model/network.json; latents are numpy's RandomState(seed).randn, so a seed is the same image as in the CLI.
import * as ort from './ort/ort.min.mjs';
import { RandomState, latentFromSeed } from './js/numpy-random.js';

const params = new URLSearchParams(location.search);
ort.env.wasm.wasmPaths = new URL('./ort/', import.meta.url).href;
// Threads need cross-origin isolation (COOP/COEP headers), which plain static hosts do not send.
ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;

const $ = (id) => document.getElementById(id);
const status = (text) => ($('status').textContent = text);

async function hasWebGPU() {
  try {
    return Boolean(navigator.gpu && (await navigator.gpu.requestAdapter()));
  } catch {
    return false;
  }
}

async function openSessions(info, backend) {
  const sessions = {};
  for (const [role, file] of Object.entries(info.files)) {
    sessions[role] = await ort.InferenceSession.create(`model/${file}`, { executionProviders: [backend] });
  }
  return sessions;
}

function decodeFloats(b64) {
  const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
  return new Float32Array(bytes.buffer);
}

const info = await (await fetch('model/network.json')).json();
const isStyleGAN = info.arch === 'stylegan';
let backend = params.get('backend') ?? ((await hasWebGPU()) ? 'webgpu' : 'wasm');
let sessions;
try {
  sessions = await openSessions(info, backend);
} catch (e) {
  if (backend === 'wasm') throw e;
  console.warn(`${backend} failed (${e.message}); using wasm`);
  backend = 'wasm';
  sessions = await openSessions(info, backend);
}
const R = info.resolution;
const C = info.channels;
const L = info.numLayers ?? 0;
const storedNoise = (info.layers ?? []).map((l) => decodeFloats(l.noise));

// Controls that depend on the network.
for (const el of document.querySelectorAll('.stylegan')) el.classList.toggle('hidden', !isStyleGAN);
$('class-label').classList.toggle('hidden', info.classes === 0);
$('class').innerHTML = Array.from({ length: info.classes }, (_, i) => `<option value="${i}">${i}</option>`).join('');
if (isStyleGAN) {
  $('psi').value = String(info.truncationPsi ?? 1);
  $('cutoff').value = String(Math.min(info.truncationCutoff ?? L, L));
  for (const id of ['cutoff', 'mix-from', 'mix-to']) $(id).max = String(L);
  $('mix-to').value = String(Math.min(4, L));
  $('layers').innerHTML = (info.layers ?? []).map((l) => `<span>${l.index}: ${l.scope} (${l.resolution}²)</span>
    <select data-layer="${l.index}"><option value="const">stored</option><option value="random">random</option><option value="none">off</option></select>`).join('');
}
const canvas = $('canvas');
canvas.width = canvas.height = R;

/** The current settings from the form. */
function readState() {
  const num = (id) => Number($(id).value);
  return {
    seed: num('seed'), cls: info.classes ? num('class') : 0, psi: num('psi'), cutoff: num('cutoff'),
    mix: $('mix-on').checked, mixFrom: num('mix-from'), mixTo: num('mix-to'), mixSeed: num('mix-seed'),
    interpSeed: num('interp-seed'), t: num('interp-t'), noiseSeed: num('noise-seed'),
    noise: Array.from(document.querySelectorAll('[data-layer]'), (s) => s.value),
  };
}

/** Sets form fields from a partial state (for links and the test hook). */
function writeState(s) {
  const fields = { seed: 'seed', cls: 'class', psi: 'psi', cutoff: 'cutoff', mixFrom: 'mix-from', mixTo: 'mix-to', mixSeed: 'mix-seed', interpSeed: 'interp-seed', t: 'interp-t', noiseSeed: 'noise-seed' };
  for (const [k, id] of Object.entries(fields)) if (s[k] !== undefined) $(id).value = String(s[k]);
  if (s.mix !== undefined) $('mix-on').checked = s.mix;
  if (s.noise !== undefined) {
    document.querySelectorAll('[data-layer]').forEach((sel, i) => (sel.value = typeof s.noise === 'string' ? s.noise : s.noise[i]));
  }
  $('psi-out').value = $('psi').value;
  $('t-out').value = $('interp-t').value;
}

const tensor = (data, dims) => new ort.Tensor('float32', data, dims);

/** z of several seeds (+ one-hot class) as the feeds of mapping.onnx / generator.onnx. */
function latentFeeds(seeds, cls, z = null) {
  const n = seeds.length;
  const zs = z ?? new Float32Array(n * info.latentSize);
  if (!z) seeds.forEach((s, i) => zs.set(latentFromSeed(s, info.latentSize), i * info.latentSize));
  const feeds = { z: tensor(zs, [n, info.latentSize]) };
  if (info.classes) {
    const c = new Float32Array(n * info.classes);
    for (let i = 0; i < n; i++) c[i * info.classes + cls] = 1;
    feeds.c = tensor(c, [n, info.classes]);
  }
  return feeds;
}

/** dlatents [1, L, D] of the state: w of the seed, lerped towards the interpolation seed, mixed, truncated. */
async function dlatentsOf(s) {
  const D = info.dlatentSize;
  const out = await sessions.mapping.run(latentFeeds([s.seed, s.interpSeed, s.mixSeed], s.cls));
  const w = out.dlatents.data; // [3, L, D]
  const avg = info.dlatentAvg;
  const d = new Float32Array(L * D);
  for (let l = 0; l < L; l++) {
    const mixed = s.mix && l >= s.mixFrom && l < s.mixTo;
    for (let k = 0; k < D; k++) {
      let v = mixed ? w[(2 * L + l) * D + k] : w[l * D + k] + s.t * (w[(L + l) * D + k] - w[l * D + k]);
      if (l < s.cutoff && s.psi !== 1) v = avg[k] + s.psi * (v - avg[k]);
      d[l * D + k] = v;
    }
  }
  return tensor(d, [1, L, D]);
}

function noiseFeeds(s) {
  const rs = new RandomState(s.noiseSeed);
  const feeds = {};
  info.layers.forEach((layer, i) => {
    const r = layer.resolution;
    const random = Float32Array.from(rs.randn(r * r)); // drawn for every layer, so each layer's map is stable
    const mode = s.noise[i] ?? 'const';
    const data = mode === 'const' ? storedNoise[i] : mode === 'random' ? random : new Float32Array(r * r);
    feeds[`noise${i}`] = tensor(data, [1, 1, r, r]);
  });
  return feeds;
}

/** Renders the state into the canvas; returns the RGBA pixels. */
async function renderState(s) {
  let images;
  if (isStyleGAN) {
    images = (await sessions.synthesis.run({ dlatents: await dlatentsOf(s), ...noiseFeeds(s) })).images;
  } else {
    const za = latentFromSeed(s.seed, info.latentSize);
    const zb = latentFromSeed(s.interpSeed, info.latentSize);
    const z = za.map((v, k) => v + s.t * (zb[k] - v));
    images = (await sessions.generator.run(latentFeeds([s.seed], s.cls, z))).images;
  }
  const x = await images.getData();
  const img = new ImageData(R, R);
  for (let p = 0; p < R * R; p++) {
    for (let ch = 0; ch < 3; ch++) {
      const v = Math.floor((x[(C === 1 ? 0 : ch) * R * R + p] + 1) * 127.5 + 0.5);
      img.data[p * 4 + ch] = Math.min(255, Math.max(0, v));
    }
    img.data[p * 4 + 3] = 255;
  }
  canvas.getContext('2d').putImageData(img, 0, 0);
  return img.data;
}

const times = [];
let busy = null;
let again = false;
/** Renders the form's state (coalescing requests that arrive while a render runs). */
async function render() {
  if (busy) {
    again = true;
    return busy;
  }
  const t0 = performance.now();
  busy = renderState(readState());
  let pixels;
  try {
    pixels = await busy;
  } finally {
    busy = null;
  }
  times.push(performance.now() - t0);
  status(`${backend} · ${info.arch} ${R}² · first ${times[0].toFixed(0)} ms · last ${times.at(-1).toFixed(0)} ms`);
  if (again) {
    again = false;
    return render();
  }
  return pixels;
}

$('controls').addEventListener('input', () => {
  writeState({});
  render();
});
for (const b of document.querySelectorAll('[data-all]')) b.addEventListener('click', () => (writeState({ noise: b.dataset.all }), render()));
let playing = false;
$('play').addEventListener('click', async () => {
  playing = !playing;
  $('play').textContent = playing ? 'stop' : 'play';
  while (playing) {
    const t = (Number($('interp-t').value) + 0.02) % 1;
    writeState({ t });
    await render();
  }
});

writeState({});
const first = render();
// For tests and scripts: the backend, the network and a render of an explicit state.
window.studio = {
  backend, info, times,
  ready: first.then(() => true),
  async render(s = {}) {
    await first;
    writeState(s);
    const t0 = performance.now();
    const pixels = await renderState(readState());
    return { pixels: Array.from(pixels), ms: performance.now() - t0 };
  },
};
