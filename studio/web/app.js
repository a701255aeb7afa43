// The studio page: controls → JSON requests → PNG images. The latest request wins: a new request on a channel aborts
// the one still in flight, and the server drops stale requests it has not started.
const $ = (id) => document.getElementById(id);
const FMNIST = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

const state = { photo: null, nets: [], net: null, noiseSeed: 0, strength: [], mixLayers: new Set(), lastPng: null, renders: 0, timings: [] };
const inFlight = new Map();

/** POSTs JSON on a channel; aborts the channel's previous request. Resolves with the Response, or null if superseded. */
async function post(path, body, channel = null) {
  let ctl = null;
  if (channel) {
    inFlight.get(channel)?.abort();
    ctl = new AbortController();
    inFlight.set(channel, ctl);
  }
  try {
    const res = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(channel ? { channel, ...body } : body), signal: ctl?.signal });
    if (res.status === 409) return null;
    if (!res.ok) throw new Error((await res.json().catch(() => ({ error: res.statusText }))).error);
    return res;
  } catch (e) {
    if (e.name === 'AbortError') return null;
    throw e;
  } finally {
    if (channel && inFlight.get(channel) === ctl) inFlight.delete(channel);
  }
}

const isStyle = () => state.net?.arch === 'stylegan';

/** The settings of the main image, as the server's render request. */
function settings() {
  const net = state.net;
  const body = { network: net.id, seed: Number($('seed').value) };
  if (net.labelSize > 0) body.class = Number($('class').value);
  if (!isStyle()) return body;
  body.psi = Number($('psi').value);
  const cutoff = $('cutoff').value;
  if (cutoff !== 'default') body.cutoff = cutoff === 'all' ? null : Number(cutoff);
  const mode = $('noise-mode').value;
  body.noise = { mode, seed: state.noiseSeed };
  if (state.strength.some((s) => s !== 1)) body.noise.strength = state.strength;
  if ($('dest-kind').value === 'photo' && state.photo?.projected) body.destination = { photo: state.photo.id };
  if ($('mix-on').checked && state.mixLayers.size) {
    const source = $('source-kind').value === 'photo' && state.photo?.projected ? { photo: state.photo.id } : { seed: Number($('source-seed').value) };
    body.mix = { source, layers: [...state.mixLayers].sort((a, b) => a - b) };
  }
  return body;
}

function showError(e) {
  $('status').textContent = `⚠ ${e.message}`;
  $('status').classList.add('error');
}

let pending = 0;
function busy(delta) {
  pending += delta;
  $('busy').hidden = pending === 0;
  $('view').dataset.state = pending === 0 ? 'idle' : 'rendering';
}

/** Renders the main image (a lower-resolution preview while a slider is being dragged). */
async function render(preview = false) {
  if (!state.net) return;
  const body = settings();
  if (preview && state.net.resolution > 256) body.preview = 256;
  busy(1);
  const t0 = performance.now();
  try {
    const res = await post('/api/render', body, 'main');
    if (!res) return;
    const bytes = await res.arrayBuffer();
    const server = /dur=([\d.]+)/.exec(res.headers.get('Server-Timing') ?? '')?.[1];
    const url = URL.createObjectURL(new Blob([bytes], { type: 'image/png' }));
    await new Promise((ok) => { $('view').onload = ok; $('view').src = url; });
    const total = performance.now() - t0;
    if (!preview) state.lastPng = bytes;
    state.timings.push({ server: Number(server), total, preview });
    state.renders++;
    $('view').dataset.renders = String(state.renders);
    $('view').dataset.preview = String(preview);
    $('status').classList.remove('error');
    $('status').textContent = `seed ${body.seed}${preview ? ' (preview)' : ''} · server ${server ?? '?'} ms · round trip ${total.toFixed(0)} ms`;
    if (!preview) updateCommand(body);
  } catch (e) {
    showError(e);
  } finally {
    busy(-1);
  }
}

async function updateCommand(body) {
  const res = await post('/api/command', body).catch(() => null);
  if (!res) return;
  const c = await res.json();
  $('command').textContent = c.command;
  $('command-note').textContent = (c.exact ? 'Reproduces this image exactly: ' : 'Approximately: ') + c.note;
}

function download(bytes, name, type) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([bytes], { type }));
  a.download = name;
  a.click();
}

// ---- controls built per network ----

function layerToggles(container, prefix, label, onToggle, extra) {
  container.replaceChildren();
  state.net.layerResolutions.forEach((res, i) => {
    const cell = document.createElement('div');
    cell.className = 'layer';
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.id = `${prefix}-${i}`;
    box.setAttribute('aria-label', `${label}, layer ${i} (${res}²)`);
    box.addEventListener('change', () => onToggle(i, box.checked));
    const tag = document.createElement('label');
    tag.htmlFor = box.id;
    tag.textContent = `${i} · ${res}²`;
    cell.append(box, tag);
    if (extra) cell.append(extra(i, res));
    container.append(cell);
  });
}

function syncNoiseControls() {
  state.strength.forEach((s, i) => {
    $(`noise-${i}`).checked = s > 0;
    $(`noise-strength-${i}`).value = String(s);
  });
  $('noise-seed').textContent = String(state.noiseSeed);
}

function syncMixControls() {
  state.net.layerResolutions.forEach((_, i) => ($(`mix-${i}`).checked = state.mixLayers.has(i)));
}

function presetLayers(name, L) {
  const [a, b] = name === 'coarse' ? [0, 4] : name === 'middle' ? [4, 8] : [8, L];
  return Array.from({ length: Math.max(0, Math.min(b, L) - a) }, (_, i) => a + i);
}

function buildNetworkControls() {
  const net = state.net;
  $('net-info').textContent = `${net.arch === 'stylegan' ? 'StyleGAN' : 'Progressive GAN'} · ${net.resolution}² · ${net.channels === 1 ? 'gray' : 'RGB'}${net.labelSize ? ` · ${net.labelSize} classes` : ''}`;
  $('class-row').hidden = net.labelSize === 0;
  const names = net.labelSize === 10 && /fmnist/i.test(net.name) ? FMNIST : null;
  $('class').replaceChildren(...Array.from({ length: net.labelSize }, (_, i) => new Option(names ? `${i} · ${names[i]}` : `class ${i}`, String(i))));
  const L = net.numLayers;
  $('cutoff').replaceChildren(new Option(`network default (${net.truncationCutoff ?? '—'})`, 'default'), new Option('all layers', 'all'),
    ...Array.from({ length: L + 1 }, (_, i) => new Option(`layers 0–${i - 1}`, String(i))).slice(1));
  for (const id of ['psi', 'cutoff']) $(id).disabled = !isStyle();
  $('noise-set').hidden = !isStyle();
  $('mix-set').hidden = !isStyle();
  state.strength = new Array(L).fill(1);
  state.mixLayers = new Set(presetLayers('coarse', L));
  if (!isStyle()) return;
  layerToggles($('noise-layers'), 'noise', 'Noise', (i, on) => {
    state.strength[i] = on ? 1 : 0;
    syncNoiseControls();
    render();
  }, (i) => {
    const r = document.createElement('input');
    r.type = 'range';
    r.min = '0';
    r.max = '2';
    r.step = '0.1';
    r.id = `noise-strength-${i}`;
    r.setAttribute('aria-label', `Noise strength, layer ${i}`);
    r.addEventListener('input', () => { state.strength[i] = Number(r.value); $(`noise-${i}`).checked = state.strength[i] > 0; render(true); });
    r.addEventListener('change', () => render());
    return r;
  });
  layerToggles($('mix-layers'), 'mix', 'Style from source', (i, on) => {
    if (on) state.mixLayers.add(i); else state.mixLayers.delete(i);
    if ($('mix-on').checked) render();
  });
  syncNoiseControls();
  syncMixControls();
}

async function gallery() {
  if (!state.net) return;
  const start = Number($('gallery-start').value);
  const seeds = Array.from({ length: 8 }, (_, i) => start + i);
  const body = { ...settings(), seeds, preview: 128 };
  delete body.mix;
  delete body.seed;
  if (body.noise) delete body.noise.strength;
  try {
    const res = await post('/api/gallery', body, 'gallery');
    if (!res) return;
    const url = URL.createObjectURL(await res.blob());
    $('gallery').replaceChildren(...seeds.map((s, i) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'thumb';
      b.setAttribute('aria-label', `Seed ${s}`);
      b.title = `seed ${s}`;
      b.style.backgroundImage = `url(${url})`;
      b.style.backgroundPosition = `${(i / (seeds.length - 1)) * 100}% 0`;
      b.addEventListener('click', () => { $('seed').value = String(s); seedChanged(); });
      return b;
    }));
  } catch (e) {
    showError(e);
  }
}

function seedChanged() {
  if ($('noise-mode').value === 'random') state.noiseSeed = Number($('seed').value);
  syncNoiseControls();
  render();
}

async function figure(path, body, img, channel) {
  try {
    const res = await post(path, body, channel);
    if (!res) return;
    $(img).src = URL.createObjectURL(await res.blob());
  } catch (e) {
    showError(e);
  }
}

const seedList = (text) => text.split(',').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n >= 0);

let animation = null;
async function interpolation(format) {
  const base = settings();
  const body = { network: base.network, class: base.class, psi: base.psi, cutoff: base.cutoff, noise: base.noise && { mode: base.noise.mode },
    seeds: seedList($('interp-seeds').value), space: $('interp-space').value, frames: Number($('interp-frames').value), format, fps: 12 };
  if (format === 'png' && state.net.resolution > 256) body.preview = 256;
  try {
    const res = await post('/api/interpolation', body, format === 'png' ? 'interpolation' : null);
    if (!res) return;
    const blob = await res.blob();
    if (format !== 'png') return download(blob, `interpolation-${body.seeds.join('-')}.${format}`, blob.type);
    const img = await createImageBitmap(blob);
    const n = Number(res.headers.get('X-Frames'));
    const side = img.width;
    const canvas = $('interp-view');
    canvas.width = side;
    canvas.height = side;
    const ctx = canvas.getContext('2d');
    let k = 0;
    clearInterval(animation);
    animation = setInterval(() => { ctx.drawImage(img, 0, k * side, side, side, 0, 0, side, side); k = (k + 1) % n; }, 1000 / 12);
  } catch (e) {
    showError(e);
  }
}

async function uploadPhoto(file) {
  $('photo-status').textContent = 'uploading…';
  $('project-go').disabled = true;
  $('photo-npy').hidden = true;
  delete document.body.dataset.projected;
  try {
    const res = await fetch(`/api/photos?network=${state.net.id}`, { method: 'POST', body: file });
    const j = await res.json();
    if (!res.ok) throw new Error(j.error);
    state.photo = { id: j.id, network: state.net.id, projected: false };
    $('photo-view').src = `/api/photos/${j.id}.png`;
    $('photo-status').textContent = `${j.width}×${j.height} → ${j.resolution}²`;
    $('project-go').disabled = false;
  } catch (e) {
    $('photo-status').textContent = `⚠ ${e.message}`;
  }
}

/** Projects the uploaded photo, showing each step's loss and a preview now and then; then offers it as a style source. */
let projecting = null;
async function projectPhoto() {
  const photo = state.photo;
  projecting?.abort();
  projecting = new AbortController();
  delete document.body.dataset.projected;
  $('photo-npy').hidden = true;
  $('project-go').disabled = true;
  $('project-stop').disabled = false;
  $('project-progress').value = 0;
  try {
    const res = await fetch(`/api/photos/${photo.id}/project`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, signal: projecting.signal,
      body: JSON.stringify({ network: photo.network, class: state.net.labelSize ? Number($('class').value) : undefined,
        steps: Number($('project-steps').value), space: $('project-space').value }),
    });
    if (!res.ok) throw new Error((await res.json()).error);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
        if (msg.error) throw new Error(msg.error);
        if (msg.image) $('project-view').src = `data:image/png;base64,${msg.image}`;
        if (msg.done) {
          photo.projected = true;
          $('photo-status').textContent = `projected: loss ${msg.loss.toFixed(4)} — now a style source`;
          for (const id of ['source-kind', 'dest-kind']) {
            if (![...$(id).options].some((o) => o.value === 'photo')) $(id).append(new Option('projected photo', 'photo'));
          }
          $('source-kind').value = 'photo';
          $('photo-npy').href = `/api/photos/${photo.id}.npy`;
          $('photo-npy').hidden = false;
          if ($('mix-on').checked) render();
          document.body.dataset.projected = photo.id;
        } else {
          $('project-progress').value = (msg.step + 1) / msg.steps;
          $('photo-status').textContent = `step ${msg.step + 1}/${msg.steps} · loss ${msg.loss.toFixed(4)}`;
        }
      }
    }
  } catch (e) {
    if (e.name !== 'AbortError') $('photo-status').textContent = `⚠ ${e.message}`;
  } finally {
    $('project-go').disabled = false;
    $('project-stop').disabled = true;
  }
}

function wire() {
  $('network').addEventListener('change', () => {
    state.net = state.nets.find((n) => n.id === $('network').value);
    if (state.photo?.network !== state.net.id) {
      // A photo is prepared and projected for one network.
      state.photo = null;
      for (const id of ['source-kind', 'dest-kind']) [...$(id).options].filter((o) => o.value === 'photo').forEach((o) => o.remove());
      $('project-go').disabled = true;
    }
    buildNetworkControls();
    render();
    gallery();
  });
  $('seed').addEventListener('input', seedChanged);
  $('seed-prev').addEventListener('click', () => { $('seed').value = String(Math.max(0, Number($('seed').value) - 1)); seedChanged(); });
  $('seed-next').addEventListener('click', () => { $('seed').value = String(Number($('seed').value) + 1); seedChanged(); });
  $('seed-random').addEventListener('click', () => { $('seed').value = String(Math.floor(Math.random() * 100000)); seedChanged(); });
  $('class').addEventListener('change', () => { render(); gallery(); });
  $('psi').addEventListener('input', () => { $('psi-value').textContent = Number($('psi').value).toFixed(2); render(true); });
  $('psi').addEventListener('change', () => { render(); gallery(); });
  $('cutoff').addEventListener('change', () => render());
  $('noise-mode').addEventListener('change', () => { state.noiseSeed = Number($('seed').value); syncNoiseControls(); render(); });
  $('noise-resample').addEventListener('click', () => {
    $('noise-mode').value = 'random';
    state.noiseSeed = (state.noiseSeed + 1 + Math.floor(Math.random() * 1000)) % 4294967296;
    syncNoiseControls();
    render();
  });
  const setNoise = (f) => { state.strength = state.strength.map((s, i) => f(i, s)); syncNoiseControls(); render(); };
  const split = () => Math.min(8, Math.floor(state.net.numLayers / 2));
  $('noise-all-on').addEventListener('click', () => setNoise(() => 1));
  $('noise-coarse-off').addEventListener('click', () => setNoise((i, s) => (i < split() ? 0 : s || 1)));
  $('noise-fine-off').addEventListener('click', () => setNoise((i, s) => (i >= split() ? 0 : s || 1)));
  $('mix-on').addEventListener('change', () => render());
  $('source-seed').addEventListener('input', () => { if ($('mix-on').checked) render(); });
  for (const b of document.querySelectorAll('[data-preset]')) {
    b.addEventListener('click', () => {
      state.mixLayers = new Set(presetLayers(b.dataset.preset, state.net.numLayers));
      $('mix-on').checked = true;
      syncMixControls();
      render();
    });
  }
  $('dl-png').addEventListener('click', () => state.lastPng && download(state.lastPng, `seed${String($('seed').value).padStart(4, '0')}.png`, 'image/png'));
  $('dl-npy').addEventListener('click', async () => {
    try {
      const res = await post('/api/dlatents', settings());
      if (res) download(await res.blob(), `dlatents-seed${$('seed').value}.npy`, 'application/octet-stream');
    } catch (e) { showError(e); }
  });
  $('copy-cmd').addEventListener('click', () => navigator.clipboard?.writeText($('command').textContent).catch(() => {}));
  $('gallery-start').addEventListener('change', gallery);
  $('gallery-more').addEventListener('click', () => { $('gallery-start').value = String(Number($('gallery-start').value) + 8); gallery(); });
  $('grid-go').addEventListener('click', () => {
    const s = settings();
    figure('/api/grid', { network: s.network, class: s.class, psi: s.psi, cutoff: s.cutoff, noise: s.noise && { mode: s.noise.mode },
      rows: seedList($('grid-rows').value), cols: seedList($('grid-cols').value), layers: [...state.mixLayers].sort((a, b) => a - b) }, 'grid-view', 'grid');
  });
  $('noise-detail-go').addEventListener('click', () => {
    const s = settings();
    figure('/api/noise-detail', { network: s.network, seed: s.seed, class: s.class, psi: s.psi, cutoff: s.cutoff, noise: { seed: state.noiseSeed },
      samples: Number($('noise-samples').value) }, 'noise-detail-view', 'noise-detail');
  });
  $('interp-go').addEventListener('click', () => interpolation('png'));
  $('interp-stop').addEventListener('click', () => clearInterval(animation));
  $('interp-export').addEventListener('click', () => interpolation($('interp-format').value));
  $('photo-file').addEventListener('change', () => $('photo-file').files[0] && uploadPhoto($('photo-file').files[0]));
  $('project-go').addEventListener('click', projectPhoto);
  $('project-stop').addEventListener('click', () => projecting?.abort());
  $('source-kind').addEventListener('change', () => { if ($('mix-on').checked) render(); });
  $('dest-kind').addEventListener('change', () => render());
}

async function start() {
  wire();
  const info = await (await fetch('/api/networks')).json();
  state.nets = info.networks;
  $('network').replaceChildren(...info.networks.map((n) => new Option(n.name, n.id)));
  $('interp-format').replaceChildren(...info.video.map((f) => new Option(f.toUpperCase(), f)));
  $('photo-set').hidden = !info.projection;
  $('project-loss').textContent = info.projectionLoss === 'lpips' ? 'Distance: LPIPS (vgg16.pt)'
    : 'Distance: pixel MSE — start the studio with --detector-dir (vgg16.pt) for LPIPS';
  state.net = state.nets[0];
  buildNetworkControls();
  document.body.dataset.ready = 'true';
  await Promise.all([render(), gallery()]);
}

window.studio = { state, settings, render };
start().catch(showError);
