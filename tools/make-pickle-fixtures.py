#!/usr/bin/python3
"""Builds the pickle fixtures in test/fixtures/pickles/ (run with Debian's /usr/bin/python3: numpy + torch).

    /usr/bin/python3 tools/make-pickle-fixtures.py [output-dir]
    /usr/bin/python3 tools/make-pickle-fixtures.py --ffhq1024 OUT.pkl   # full-size benchmark input (~325 MB)
    /usr/bin/python3 tools/make-pickle-fixtures.py --progan1024 OUT.pkl  # full-size ProGAN CelebA-HQ input (~280 MB)
    /usr/bin/python3 tools/make-pickle-fixtures.py --stylegan1 RESOLUTION FMAP_MAX OUT.pkl  # smaller StyleGAN1
    /usr/bin/python3 tools/make-pickle-fixtures.py --stylegan1-128 test/fixtures/stylegan1-128.p4.pkl

NVIDIA's real networks are far too big for the repository (and cannot be downloaded here), so this script
writes small stand-ins with the same byte-level structure:

- stylegan1-32.p{2,4}.pkl: tuple(G, D, Gs) of `dnnlib.tflib.network.Network` (state version 3, official
  `__getstate__` key order), G/Gs with 'synthesis' and 'mapping' components; 32x32 with small feature maps.
- progan-32.p{2,4}.pkl: tuple(G, D, Gs) of `tfutil.Network` (version 2), G_paper / D_paper with
  fused_scale=True (Conv0_up weights stored [k, k, out, in], D Conv1_down).
- stylegan1-cond-8.p4.pkl: a conditional 8x8 StyleGAN1 (3 classes) with non-default latent, dlatent and
  mapping sizes, fused_scale=True and minibatch-stddev group 2.
- progan-theano-32.p4.pkl: ProGAN as the official CelebA-HQ file (trained with Theano, converted): networks
  named G_paper / D_paper, fused_scale=False (G `Conv0`, D `Conv1`), mbstd group 16, no `lod` variable.
- stylegan2ada-8.p{2,4}.pkl: dict(training_set_kwargs, G, D, G_ema, augment_pipe) of
  `torch_utils.persistence` objects wrapping real torch 1.13 nn.Modules named as in stylegan2-ada-pytorch
  (8x8 so that the files stay small); parameters are real torch Parameters, reduced by torch itself.
- torch-save.pt (torch.save zip) and torch-save-legacy.pt (legacy stream) of a dict of tensors.
- misc.p{2,3,4,5}.pkl: Python values and numpy arrays covering the remaining opcodes and dtypes.

Stand-in classes are declared under the official module and class names by inserting modules into
sys.modules. Arrays are seeded random values. Everything is deterministic: legacy torch streams are
written by `legacy_torch_save` below, which reproduces torch's own writer byte for byte (checked at
start-up against torch) but numbers storages with fixed keys instead of memory addresses.

manifest.json lists, per fixture, every array (name, dtype, shape, sha256 of its C-order little-endian
bytes) and the structure a loader must recover (network names, kwargs, components, variable order,
module tree).
"""
import collections
import hashlib
import io
import json
import os
import pickle
import re
import struct
import sys
import types

import numpy as np
import torch

OUT = sys.argv[1] if len(sys.argv) == 2 else os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'pickles')


# --------------------------------------------------------------------------------------------------
# Stand-in modules and classes under the official names

def install_module(dotted):
    """Creates (or returns) module `dotted` and its parents in sys.modules."""
    parts = dotted.split('.')
    for i in range(1, len(parts) + 1):
        name = '.'.join(parts[:i])
        if name not in sys.modules:
            sys.modules[name] = types.ModuleType(name)
            if i > 1:
                setattr(sys.modules['.'.join(parts[:i - 1])], parts[i - 1], sys.modules[name])
    return sys.modules[dotted]


def declare(module, obj):
    """Makes `obj` (class or function) picklable as module.<its name>."""
    obj.__module__ = module
    obj.__qualname__ = obj.__name__
    setattr(install_module(module), obj.__name__, obj)
    return obj


class EasyDict(dict):
    """dnnlib.util.EasyDict: a dict with attribute access."""
    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name)

    def __setattr__(self, name, value):
        self[name] = value


declare('dnnlib.util', EasyDict)


def make_tf_network_class(module, version, with_components):
    """A TF `Network` stand-in whose __getstate__ returns the official key order."""
    class Network:
        def __init__(self, name, build_func_name, static_kwargs, variables, components=None):
            self.name = name
            self.build_func_name = build_func_name
            self.static_kwargs = static_kwargs
            self.variables = variables
            self.components = components or {}

        def __getstate__(self):
            state = {'version': version, 'name': self.name, 'static_kwargs': dict(self.static_kwargs)}
            if with_components:
                state['components'] = dict(self.components)
            state['build_module_src'] = TF_MODULE_SRC
            state['build_func_name'] = self.build_func_name
            state['variables'] = list(self.variables)
            return state
    return declare(module, Network)


# Stand-in for the embedded networks source (the real one is ~33 kB of Python); includes non-ASCII text.
TF_MODULE_SRC = '# stand-in for training/networks_stylegan.py — never executed\ndef G_style(): pass\n'
StyleGANNetwork = make_tf_network_class('dnnlib.tflib.network', 3, True)
ProGANNetwork = make_tf_network_class('tfutil', 2, False)


# --------------------------------------------------------------------------------------------------
# TF variable layouts (names and shapes as in NVlabs/stylegan and tkarras/progressive_growing_of_gans)

def nf_func(fmap_base, fmap_max):
    return lambda stage: min(int(fmap_base / 2.0 ** stage), fmap_max)


def stylegan_mapping_layout(latent, dlatent, mapping_fmaps, layers, label_size=0):
    """G_mapping; with labels, the label embedding [label_size, latent] is concatenated to z first."""
    out = [('LabelConcat/weight', [label_size, latent])] if label_size else []
    for i in range(layers):
        fin = (2 * latent if label_size else latent) if i == 0 else mapping_fmaps
        fout = dlatent if i == layers - 1 else mapping_fmaps
        out += [(f'Dense{i}/weight', [fin, fout]), (f'Dense{i}/bias', [fout])]
    return out


def stylegan_synthesis_layout(res_log2, nf, dlatent):
    out = [('lod', None)]
    for i in range(2 * res_log2 - 2):
        r = 2 ** (i // 2 + 2)
        out.append((f'noise{i}', [1, 1, r, r]))

    def epilogue(scope, c):
        return [(f'{scope}/Noise/weight', [c]), (f'{scope}/bias', [c]),
                (f'{scope}/StyleMod/weight', [dlatent, 2 * c]), (f'{scope}/StyleMod/bias', [2 * c])]

    def torgb(lod, c):
        return [(f'ToRGB_lod{lod}/weight', [1, 1, c, 3]), (f'ToRGB_lod{lod}/bias', [3])]

    c = nf(1)
    out += [('4x4/Const/const', [1, c, 4, 4])] + epilogue('4x4/Const', c)
    out += [('4x4/Conv/weight', [3, 3, c, c])] + epilogue('4x4/Conv', c)
    out += torgb(res_log2 - 2, c)
    for res in range(3, res_log2 + 1):
        cin, c, r = nf(res - 2), nf(res - 1), 2 ** res
        out += [(f'{r}x{r}/Conv0_up/weight', [3, 3, cin, c])] + epilogue(f'{r}x{r}/Conv0_up', c)
        out += [(f'{r}x{r}/Conv1/weight', [3, 3, c, c])] + epilogue(f'{r}x{r}/Conv1', c)
        out += torgb(res_log2 - res, c)
    return out


def discriminator_layout(res_log2, nf, lod_as_array, down='Conv1_down', outputs=1):
    """D_basic (StyleGAN) and fused D_paper (ProGAN) share names and shapes; unfused D_paper names its
    downscaling conv `Conv1`. `outputs` is 1 + label_size (ProGAN) or max(label_size, 1) (StyleGAN)."""
    out = [('lod', 'array' if lod_as_array else None),
           ('FromRGB_lod0/weight', [1, 1, 3, nf(res_log2 - 1)]), ('FromRGB_lod0/bias', [nf(res_log2 - 1)])]
    for res in range(res_log2, 2, -1):
        r, lod = 2 ** res, res_log2 - res + 1
        out += [(f'{r}x{r}/Conv0/weight', [3, 3, nf(res - 1), nf(res - 1)]), (f'{r}x{r}/Conv0/bias', [nf(res - 1)]),
                (f'{r}x{r}/{down}/weight', [3, 3, nf(res - 1), nf(res - 2)]), (f'{r}x{r}/{down}/bias', [nf(res - 2)]),
                (f'FromRGB_lod{lod}/weight', [1, 1, 3, nf(res - 2)]), (f'FromRGB_lod{lod}/bias', [nf(res - 2)])]
    out += [('4x4/Conv/weight', [3, 3, nf(1) + 1, nf(1)]), ('4x4/Conv/bias', [nf(1)]),
            ('4x4/Dense0/weight', [nf(1) * 16, nf(0)]), ('4x4/Dense0/bias', [nf(0)]),
            ('4x4/Dense1/weight', [nf(0), outputs]), ('4x4/Dense1/bias', [outputs])]
    return out


def progan_generator_layout(res_log2, nf, latent, fused=True):
    """G_paper. fused_scale=True: Conv0_up weights are [k, k, out, in]; False: Conv0 weights [k, k, in, out]."""
    out = [('lod', None), ('4x4/Dense/weight', [latent, nf(1) * 16]), ('4x4/Dense/bias', [nf(1)]),
           ('4x4/Conv/weight', [3, 3, nf(1), nf(1)]), ('4x4/Conv/bias', [nf(1)]),
           (f'ToRGB_lod{res_log2 - 2}/weight', [1, 1, nf(1), 3]), (f'ToRGB_lod{res_log2 - 2}/bias', [3])]
    for res in range(3, res_log2 + 1):
        r, cin, c = 2 ** res, nf(res - 2), nf(res - 1)
        up, shape = ('Conv0_up', [3, 3, c, cin]) if fused else ('Conv0', [3, 3, cin, c])
        out += [(f'{r}x{r}/{up}/weight', shape), (f'{r}x{r}/{up}/bias', [c]),
                (f'{r}x{r}/Conv1/weight', [3, 3, c, c]), (f'{r}x{r}/Conv1/bias', [c]),
                (f'ToRGB_lod{res_log2 - res}/weight', [1, 1, c, 3]), (f'ToRGB_lod{res_log2 - res}/bias', [3])]
    return out


def theano_order(layout):
    """Variables as ProGAN's legacy.patch_theano_gan lists them: no `lod`, and G's ToRGB layers last (lod 0 first)."""
    torgb = sorted((v for v in layout if v[0].startswith('ToRGB_lod')), key=lambda v: int(v[0].split('/')[0][9:]))
    return [v for v in layout if v[0] != 'lod' and not v[0].startswith('ToRGB_lod')] + torgb


def fill(layout, rng):
    """Seeded values for a layout. `lod` is a numpy float32 scalar (what tf.Session.run returns for a 0-d
    variable), or a 0-d ndarray when the layout asks for 'array'."""
    out = []
    for name, shape in layout:
        if shape is None:
            out.append((name, np.float32(rng.randint(0, 4))))
        elif shape == 'array':
            out.append((name, np.array(rng.randint(0, 4), dtype=np.float32)))
        else:
            out.append((name, rng.standard_normal(shape).astype(np.float32)))
    return out


# --------------------------------------------------------------------------------------------------
# Manifest helpers

def le_bytes(a):
    a = np.asarray(a)
    return np.ascontiguousarray(a.astype(a.dtype.newbyteorder('<'))).tobytes()


def json_number(x):
    """A value JSON (and JavaScript) can hold exactly: ints beyond 2**53 become strings."""
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x) if abs(int(x)) <= 2 ** 53 else str(int(x))
    return float(x)


def array_entry(name, a, **extra):
    """Manifest record of an array: dtype, shape, sha256 of its C-order little-endian bytes, and its values
    when it has at most 16 elements."""
    if isinstance(a, torch.Tensor):
        t = a.detach().contiguous()
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        dtype, shape = str(t.dtype).replace('torch.', ''), list(t.shape)
        flat = t.flatten().tolist() if t.dtype != torch.bfloat16 else t.float().flatten().tolist()
    else:
        raw = le_bytes(a)
        dtype, shape = np.asarray(a).dtype.name, list(np.shape(a))
        flat = np.asarray(a).flatten(order='C').tolist()
    entry = dict(name=name, dtype=dtype, shape=shape, sha256=hashlib.sha256(raw).hexdigest(), **extra)
    if len(flat) <= 16:
        entry['values'] = [json_number(x) for x in flat]
    return entry


def tf_manifest(path, net, arrays, networks):
    networks.append(dict(path=path, module=type(net).__module__, version=net.__getstate__()['version'],
                         name=net.name, build_func_name=net.build_func_name, static_kwargs=net.static_kwargs,
                         components=list(net.components), variables=[n for n, _ in net.variables]))
    for n, v in net.variables:
        arrays.append(array_entry(f'{path}/{n}', v, scalar=isinstance(v, np.generic)))
    for key, comp in net.components.items():
        tf_manifest(f'{path}/{key}', comp, arrays, networks)


def compact_json(v, indent=''):
    """JSON with one line per leaf record (dicts and lists without nested dicts)."""
    nested = isinstance(v, dict) and any(isinstance(x, dict) for x in v.values()) or \
        isinstance(v, list) and any(isinstance(x, dict) for x in v)
    if not nested:
        return json.dumps(v, separators=(',', ':'), ensure_ascii=False)
    inner = indent + ' '
    if isinstance(v, dict):
        items = [f'{inner}{json.dumps(k)}:{compact_json(x, inner)}' for k, x in v.items()]
        return '{\n' + ',\n'.join(items) + '\n' + indent + '}'
    return '[\n' + ',\n'.join(inner + compact_json(x, inner) for x in v) + '\n' + indent + ']'


def write(name, data):
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(data)
    return name


# --------------------------------------------------------------------------------------------------
# StyleGAN1 and ProGAN TF pickles

def stylegan1_fixture(manifest):
    rng = np.random.RandomState(1)
    res_log2, latent, fmap_base, fmap_max = 5, 8, 32, 8
    nf = nf_func(fmap_base, fmap_max)
    common = dict(num_channels=3, resolution=32, label_size=0)
    g_kwargs = dict(common, latent_size=latent, dlatent_size=latent, mapping_fmaps=latent, fmap_base=fmap_base,
                    fmap_max=fmap_max, truncation_psi=0.7, truncation_cutoff=8, fused_scale='auto',
                    blur_filter=[1, 2, 1], use_noise=True, structure=None)

    def generator(name):
        synthesis = StyleGANNetwork('G_synthesis', 'G_synthesis', g_kwargs,
                                    fill(stylegan_synthesis_layout(res_log2, nf, latent), rng))
        mapping = StyleGANNetwork('G_mapping', 'G_mapping', dict(g_kwargs, dlatent_broadcast=2 * res_log2 - 2),
                                  fill(stylegan_mapping_layout(latent, latent, latent, 8), rng))
        own = fill([('lod', None), ('dlatent_avg', [latent])], rng)
        return StyleGANNetwork(name, 'G_style', g_kwargs, own, {'synthesis': synthesis, 'mapping': mapping})

    g = generator('G')
    d = StyleGANNetwork('D', 'D_basic', dict(common, fmap_base=fmap_base, fmap_max=fmap_max, mbstd_group_size=4),
                        fill(discriminator_layout(res_log2, nf, True), rng))
    gs = generator('Gs')
    arrays, networks = [], []
    for path, net in (('G', g), ('D', d), ('Gs', gs)):
        tf_manifest(path, net, arrays, networks)
    files = {str(p): write(f'stylegan1-32.p{p}.pkl', pickle.dumps((g, d, gs), protocol=p)) for p in (2, 4)}
    manifest['stylegan1-32'] = dict(kind='tf', top=['G', 'D', 'Gs'], files=files, networks=networks, arrays=arrays)


def progan_fixture(manifest):
    rng = np.random.RandomState(2)
    res_log2, latent, fmap_base, fmap_max = 5, 8, 32, 8
    nf = nf_func(fmap_base, fmap_max)
    kwargs = dict(num_channels=3, resolution=32, label_size=0, fmap_base=fmap_base, fmap_decay=1.0,
                  fmap_max=fmap_max, fused_scale=True, mbstd_group_size=4)
    g_kwargs = dict(kwargs, latent_size=latent, normalize_latents=True, use_wscale=True, use_pixelnorm=True,
                    use_leakyrelu=True)
    g = ProGANNetwork('G', 'G_paper', g_kwargs, fill(progan_generator_layout(res_log2, nf, latent), rng))
    d = ProGANNetwork('D', 'D_paper', kwargs, fill(discriminator_layout(res_log2, nf, False), rng))
    gs = ProGANNetwork('Gs', 'G_paper', g_kwargs, fill(progan_generator_layout(res_log2, nf, latent), rng))
    arrays, networks = [], []
    for path, net in (('G', g), ('D', d), ('Gs', gs)):
        tf_manifest(path, net, arrays, networks)
    files = {str(p): write(f'progan-32.p{p}.pkl', pickle.dumps((g, d, gs), protocol=p)) for p in (2, 4)}
    manifest['progan-32'] = dict(kind='tf', top=['G', 'D', 'Gs'], files=files, networks=networks, arrays=arrays)


def stylegan1_conditional_fixture(manifest):
    """A conditional 8x8 StyleGAN1 with non-default sizes everywhere an importer has to infer them: latent 4,
    dlatent 6, 3 mapping layers of 5, 3 classes, fused_scale=True, minibatch-stddev group 2 (protocol 4 only)."""
    rng = np.random.RandomState(3)
    res_log2, latent, dlatent, fmaps, layers, labels, fmap_base, fmap_max = 3, 4, 6, 5, 3, 3, 16, 8
    nf = nf_func(fmap_base, fmap_max)
    common = dict(num_channels=3, resolution=8, label_size=labels)
    g_kwargs = dict(common, latent_size=latent, dlatent_size=dlatent, mapping_fmaps=fmaps, mapping_layers=layers,
                    fmap_base=fmap_base, fmap_max=fmap_max, fused_scale=True, truncation_psi=0.5, truncation_cutoff=4)

    def generator(name):
        synthesis = StyleGANNetwork('G_synthesis', 'G_synthesis', g_kwargs,
                                    fill(stylegan_synthesis_layout(res_log2, nf, dlatent), rng))
        mapping = StyleGANNetwork('G_mapping', 'G_mapping', dict(g_kwargs, dlatent_broadcast=2 * res_log2 - 2),
                                  fill(stylegan_mapping_layout(latent, dlatent, fmaps, layers, labels), rng))
        own = fill([('lod', None), ('dlatent_avg', [dlatent])], rng)
        return StyleGANNetwork(name, 'G_style', g_kwargs, own, {'synthesis': synthesis, 'mapping': mapping})

    g = generator('G')
    d = StyleGANNetwork('D', 'D_basic', dict(common, fmap_base=fmap_base, fmap_max=fmap_max, fused_scale=True,
                                             mbstd_group_size=2),
                        fill(discriminator_layout(res_log2, nf, False, outputs=labels), rng))
    gs = generator('Gs')
    arrays, networks = [], []
    for path, net in (('G', g), ('D', d), ('Gs', gs)):
        tf_manifest(path, net, arrays, networks)
    files = {'4': write('stylegan1-cond-8.p4.pkl', pickle.dumps((g, d, gs), protocol=4))}
    manifest['stylegan1-cond-8'] = dict(kind='tf', top=['G', 'D', 'Gs'], files=files, networks=networks, arrays=arrays)


def progan_theano_fixture(manifest):
    """Like the official CelebA-HQ ProGAN, which was trained with Theano and converted: networks named G_paper /
    D_paper / G_paper, fused_scale=False (G `Conv0`, D `Conv1`), minibatch-stddev group 16, the variables in
    patch_theano_gan's order without `lod` (protocol 4 only)."""
    rng = np.random.RandomState(4)
    res_log2, latent, fmap_base, fmap_max = 5, 8, 32, 8
    nf = nf_func(fmap_base, fmap_max)
    kwargs = dict(num_channels=3, resolution=32, fmap_base=fmap_base, fmap_decay=1.0, fmap_max=fmap_max,
                  use_wscale=True, fused_scale=False, mbstd_group_size=16)
    g_kwargs = dict(kwargs, latent_size=latent, normalize_latents=True, use_pixelnorm=True, use_leakyrelu=True)

    def generator():
        return ProGANNetwork('G_paper', 'G_paper', g_kwargs,
                             fill(theano_order(progan_generator_layout(res_log2, nf, latent, fused=False)), rng))

    g = generator()
    d = ProGANNetwork('D_paper', 'D_paper', kwargs,
                      fill(theano_order(discriminator_layout(res_log2, nf, False, down='Conv1')), rng))
    gs = generator()
    arrays, networks = [], []
    for path, net in (('G', g), ('D', d), ('Gs', gs)):
        tf_manifest(path, net, arrays, networks)
    files = {'4': write('progan-theano-32.p4.pkl', pickle.dumps((g, d, gs), protocol=4))}
    manifest['progan-theano-32'] = dict(kind='tf', top=['G', 'D', 'Gs'], files=files, networks=networks, arrays=arrays)


def stylegan1_128_pickle(path):
    """tuple(G, D, Gs) of a finished (lod 0) 128x128 StyleGAN1 with small feature maps (16 down to 2): deep
    enough for fused upscaling (128x128 Conv0_up is a transposed convolution under fused_scale='auto'), small
    enough to commit (~0.4 MB). Not listed in the manifest: the ONNX export tests use it."""
    rng = np.random.RandomState(128)
    res_log2, latent, fmap_base, fmap_max = 7, 8, 128, 16
    nf = nf_func(fmap_base, fmap_max)
    common = dict(num_channels=3, resolution=128, label_size=0)
    g_kwargs = dict(common, latent_size=latent, dlatent_size=latent, mapping_fmaps=latent, fmap_base=fmap_base,
                    fmap_max=fmap_max, truncation_psi=0.7, truncation_cutoff=8, fused_scale='auto')

    def finished(layout):
        return [(n, np.float32(0) if n == 'lod' else v) for n, v in fill(layout, rng)]

    def generator(name):
        synthesis = StyleGANNetwork('G_synthesis', 'G_synthesis', g_kwargs,
                                    finished(stylegan_synthesis_layout(res_log2, nf, latent)))
        mapping = StyleGANNetwork('G_mapping', 'G_mapping', dict(g_kwargs, dlatent_broadcast=2 * res_log2 - 2),
                                  finished(stylegan_mapping_layout(latent, latent, latent, 8)))
        own = finished([('lod', None), ('dlatent_avg', [latent])])
        return StyleGANNetwork(name, 'G_style', g_kwargs, own, {'synthesis': synthesis, 'mapping': mapping})

    g = generator('G')
    d = StyleGANNetwork('D', 'D_basic', dict(common, fmap_base=fmap_base, fmap_max=fmap_max),
                        finished(discriminator_layout(res_log2, nf, False)))
    gs = generator('Gs')
    with open(path, 'wb') as f:
        f.write(pickle.dumps((g, d, gs), protocol=4))
    print(f'wrote {os.path.getsize(path)} bytes to {path}')


# --------------------------------------------------------------------------------------------------
# A full-size synthetic FFHQ-1024 StyleGAN1 pickle (for the import benchmark; never committed)

def ffhq1024_pickle(path):
    """tuple(G, D, Gs) with every variable name and shape of karras2019stylegan-ffhq-1024x1024.pkl (protocol 4,
    as the official file), filled with seeded float32 noise; about 325 MB."""
    stylegan1_sized_pickle(path, 1024, 512)


def seeded_noise(seed):
    """Fills a layout fast with float32 noise (`lod` a float32 scalar 0)."""
    rng = np.random.default_rng(seed)
    return lambda layout: [(n, np.float32(0) if s is None else rng.standard_normal(s, dtype=np.float32))
                           for n, s in layout]


def stylegan1_sized_pickle(path, resolution, fmap_max):
    """tuple(G, D, Gs) of a StyleGAN1 at `resolution` with the official FFHQ config (fmap_base 8192, latent 512)
    except for `fmap_max` (512 officially), which sets the size: 1024/512 gives the official file's variables."""
    res_log2, latent = int(np.log2(resolution)), 512
    nf = nf_func(8192, fmap_max)
    fast_fill = seeded_noise(resolution)
    common = dict(num_channels=3, resolution=resolution, label_size=0, **({} if fmap_max == 512 else {'fmap_max': fmap_max}))

    def generator(name):
        synthesis = StyleGANNetwork('G_synthesis', 'G_synthesis', common,
                                    fast_fill(stylegan_synthesis_layout(res_log2, nf, latent)))
        mapping = StyleGANNetwork('G_mapping', 'G_mapping', dict(common, dlatent_broadcast=2 * res_log2 - 2),
                                  fast_fill(stylegan_mapping_layout(latent, latent, latent, 8)))
        own = fast_fill([('lod', None), ('dlatent_avg', [latent])])
        return StyleGANNetwork(name, 'G_style', common, own, {'synthesis': synthesis, 'mapping': mapping})

    nets = (generator('G'), StyleGANNetwork('D', 'D_basic', common, fast_fill(discriminator_layout(res_log2, nf, False))),
            generator('Gs'))
    with open(path, 'wb') as f:
        pickle.dump(nets, f, protocol=4)
    print(f'wrote {os.path.getsize(path)} bytes to {path}')


def progan1024_pickle(path):
    """tuple(G, D, Gs) with the variable names and shapes of the official CelebA-HQ 1024 ProGAN
    (karras2018iclr-celebahq-1024x1024.pkl: trained with Theano and converted, as progan_theano_fixture), filled
    with seeded float32 noise, protocol 4; about 280 MB."""
    res_log2, latent = 10, 512
    nf = nf_func(8192, 512)
    fast_fill = seeded_noise(1)
    kwargs = dict(num_channels=3, resolution=1024, fmap_base=8192, fmap_decay=1.0, fmap_max=512,
                  use_wscale=True, fused_scale=False, mbstd_group_size=16)
    g_kwargs = dict(kwargs, latent_size=latent, normalize_latents=True, use_pixelnorm=True, use_leakyrelu=True)

    def generator():
        return ProGANNetwork('G_paper', 'G_paper', g_kwargs,
                             fast_fill(theano_order(progan_generator_layout(res_log2, nf, latent, fused=False))))

    d = ProGANNetwork('D_paper', 'D_paper', kwargs,
                      fast_fill(theano_order(discriminator_layout(res_log2, nf, False, down='Conv1'))))
    with open(path, 'wb') as f:
        pickle.dump((generator(), d, generator()), f, protocol=4)
    print(f'wrote {os.path.getsize(path)} bytes to {path}')


# --------------------------------------------------------------------------------------------------
# Legacy torch.save streams with deterministic storage keys

LEGACY_MAGIC = 0x1950a86a20f9469cfc6c
LEGACY_PROTOCOL = 1001
LEGACY_SYS_INFO = {'protocol_version': LEGACY_PROTOCOL, 'little_endian': True,
                   'type_sizes': {'short': 2, 'int': 4, 'long': 4}}


def storage_class(storage):
    return getattr(torch, storage.pickle_storage_type())


def storage_le_bytes(storage):
    t = torch.empty(0, dtype=storage.dtype).set_(storage)
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def legacy_torch_save(obj, first_key=140000000000):
    """The legacy torch.save stream of `obj`: five protocol-2 pickles (magic, protocol, system info, the
    object with storages as persistent ids, sorted storage keys), then per storage an int64 element count
    and its raw bytes. Keys are first_key, first_key + 64, … instead of addresses."""
    storages = {}

    class Writer(pickle.Pickler):
        def persistent_id(self, o):
            if not isinstance(o, torch.storage.TypedStorage):
                return None
            ident = (o.data_ptr(), o.dtype, o.size()) if o.size() > 0 else ('empty', id(o))
            if ident not in storages:
                storages[ident] = (str(first_key + 64 * len(storages)), o)
            key = storages[ident][0]
            return ('storage', storage_class(o), key, 'cpu', o.size(), None)

    f = io.BytesIO()
    for head in (LEGACY_MAGIC, LEGACY_PROTOCOL, LEGACY_SYS_INFO):
        pickle.dump(head, f, protocol=2)
    Writer(f, protocol=2).dump(obj)
    keys = sorted(key for key, _ in storages.values())
    pickle.dump(keys, f, protocol=2)
    by_key = {key: s for key, s in storages.values()}
    for key in keys:
        f.write(struct.pack('<q', by_key[key].size()))
        f.write(storage_le_bytes(by_key[key]))
    return f.getvalue()


def check_legacy_writer():
    """legacy_torch_save must equal torch's own writer once the address keys are renamed."""
    storage = torch.arange(5, dtype=torch.float32).storage()
    real = storage.__reduce__()[1][0]
    real_key = re.search(rb'X(....)(\d+)q\x02', real, re.DOTALL).group(2)
    mine = legacy_torch_save(storage, first_key=int(real_key))
    assert mine == real, 'legacy_torch_save no longer matches torch.save(_use_new_zipfile_serialization=False)'


class TorchPickler(pickle.Pickler):
    """Pickles storages as `torch.storage._load_from_bytes(<legacy stream>)`, as TypedStorage.__reduce__
    does, but with deterministic keys."""
    def __init__(self, f, protocol):
        super().__init__(f, protocol=protocol)
        self.next_key = 140000000000

    def reducer_override(self, obj):
        if isinstance(obj, torch.storage.TypedStorage):
            self.next_key += 4096
            return (torch.storage._load_from_bytes, (legacy_torch_save(obj, self.next_key),))
        return NotImplemented


def torch_dumps(obj, protocol):
    f = io.BytesIO()
    TorchPickler(f, protocol).dump(obj)
    return f.getvalue()


# --------------------------------------------------------------------------------------------------
# stylegan2-ada-pytorch container with torch_utils.persistence objects

ADA_MODULE_SRC = '# stand-in for training/networks.py (stylegan2-ada-pytorch) — never executed\n'


def _reconstruct_persistent_obj(meta):
    raise RuntimeError('stand-in: fixtures are for the TypeScript reader')


declare('torch_utils.persistence', _reconstruct_persistent_obj)


class Persistent(torch.nn.Module):
    """Pickles like a @persistence.persistent_class module: REDUCE(_reconstruct_persistent_obj, (meta,))."""
    def remember_init(self, args, kwargs):
        self._init_args = tuple(args)
        self._init_kwargs = dict(kwargs)

    def __reduce__(self):
        meta = dict(type='class', version=6, module_src=ADA_MODULE_SRC, class_name=type(self).__name__,
                    state=dict(self.__dict__))
        return (_reconstruct_persistent_obj, (meta,))


class AdaRandom:
    def __init__(self, seed):
        self.gen = torch.Generator().manual_seed(seed)

    def param(self, *shape, scale=1.0):
        return torch.nn.Parameter(torch.randn(shape, generator=self.gen) * scale, requires_grad=False)

    def buffer(self, *shape):
        return torch.randn(shape, generator=self.gen)


def setup_filter(f):
    f = torch.tensor(f, dtype=torch.float32)
    f = f[:, None] * f[None, :]
    return f / f.sum()


class FullyConnectedLayer(Persistent):
    def __init__(self, rnd, in_features, out_features, activation='linear', lr_multiplier=1.0):
        super().__init__()
        self.activation = activation
        self.weight = rnd.param(out_features, in_features, scale=1 / lr_multiplier)
        self.bias = rnd.param(out_features)
        self.weight_gain = lr_multiplier / np.sqrt(in_features)
        self.bias_gain = lr_multiplier
        self.remember_init((in_features, out_features), dict(activation=activation, lr_multiplier=lr_multiplier))


class MappingNetwork(Persistent):
    def __init__(self, rnd, z_dim, w_dim, num_ws, num_layers=2):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws, self.num_layers = z_dim, 0, w_dim, num_ws, num_layers
        self.w_avg_beta = 0.995
        for i in range(num_layers):
            setattr(self, f'fc{i}', FullyConnectedLayer(rnd, z_dim if i == 0 else w_dim, w_dim, 'lrelu', 0.01))
        self.register_buffer('w_avg', rnd.buffer(w_dim))
        self.remember_init((), dict(z_dim=z_dim, c_dim=0, w_dim=w_dim, num_ws=num_ws))


class SynthesisLayer(Persistent):
    def __init__(self, rnd, in_channels, out_channels, w_dim, resolution, up=1):
        super().__init__()
        self.resolution, self.up, self.use_noise, self.activation, self.conv_clamp = resolution, up, True, 'lrelu', None
        self.register_buffer('resample_filter', setup_filter([1, 3, 3, 1]))
        self.padding = 1
        self.act_gain = np.sqrt(2)
        self.affine = FullyConnectedLayer(rnd, w_dim, in_channels)
        self.weight = rnd.param(out_channels, in_channels, 3, 3)
        self.register_buffer('noise_const', rnd.buffer(resolution, resolution))
        self.noise_strength = torch.nn.Parameter(torch.tensor(0.125), requires_grad=False)
        self.bias = rnd.param(out_channels)
        self.remember_init((in_channels, out_channels), dict(w_dim=w_dim, resolution=resolution, up=up))


class ToRGBLayer(Persistent):
    def __init__(self, rnd, in_channels, out_channels, w_dim):
        super().__init__()
        self.conv_clamp = None
        self.affine = FullyConnectedLayer(rnd, w_dim, in_channels)
        self.weight = rnd.param(out_channels, in_channels, 1, 1)
        self.bias = rnd.param(out_channels)
        self.weight_gain = 1 / np.sqrt(in_channels)
        self.remember_init((in_channels, out_channels), dict(w_dim=w_dim))


class SynthesisBlock(Persistent):
    def __init__(self, rnd, in_channels, out_channels, w_dim, resolution):
        super().__init__()
        self.in_channels, self.w_dim, self.resolution, self.img_channels = in_channels, w_dim, resolution, 3
        self.is_last, self.architecture, self.use_fp16, self.channels_last = resolution == 8, 'skip', False, False
        self.register_buffer('resample_filter', setup_filter([1, 3, 3, 1]))
        self.num_conv = 0
        if in_channels == 0:
            self.const = rnd.param(out_channels, resolution, resolution)
        else:
            self.conv0 = SynthesisLayer(rnd, in_channels, out_channels, w_dim, resolution, up=2)
            self.num_conv += 1
        self.conv1 = SynthesisLayer(rnd, out_channels, out_channels, w_dim, resolution)
        self.num_conv += 1
        self.torgb = ToRGBLayer(rnd, out_channels, 3, w_dim)
        self.num_torgb = 1
        self.remember_init((in_channels, out_channels), dict(w_dim=w_dim, resolution=resolution))


ADA_CHANNELS = {4: 8, 8: 4}


class SynthesisNetwork(Persistent):
    def __init__(self, rnd, w_dim, img_resolution):
        super().__init__()
        self.w_dim, self.img_resolution, self.img_resolution_log2, self.img_channels = w_dim, img_resolution, 3, 3
        self.block_resolutions = [4, 8]
        self.num_ws = 0
        for res in self.block_resolutions:
            block = SynthesisBlock(rnd, ADA_CHANNELS[res // 2] if res > 4 else 0, ADA_CHANNELS[res], w_dim, res)
            self.num_ws += block.num_conv
            setattr(self, f'b{res}', block)
        self.num_ws += 1
        self.remember_init((), dict(w_dim=w_dim, img_resolution=img_resolution, img_channels=3))


class Generator(Persistent):
    def __init__(self, seed):
        super().__init__()
        rnd = AdaRandom(seed)
        self.z_dim, self.c_dim, self.w_dim, self.img_resolution, self.img_channels = 8, 0, 8, 8, 3
        self.synthesis = SynthesisNetwork(rnd, 8, 8)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(rnd, 8, 8, self.num_ws)
        self.remember_init((), dict(z_dim=8, c_dim=0, w_dim=8, img_resolution=8, img_channels=3,
                                    mapping_kwargs=EasyDict(num_layers=2),
                                    synthesis_kwargs=EasyDict(channel_base=128, channel_max=8, num_fp16_res=0,
                                                              conv_clamp=None)))


class Conv2dLayer(Persistent):
    def __init__(self, rnd, in_channels, out_channels, kernel_size, bias=True, activation='linear', down=1):
        super().__init__()
        self.activation, self.up, self.down, self.conv_clamp = activation, 1, down, None
        self.register_buffer('resample_filter', setup_filter([1, 3, 3, 1]))
        self.padding = kernel_size // 2
        self.weight_gain = 1 / np.sqrt(in_channels * kernel_size ** 2)
        self.act_gain = np.sqrt(2) if activation == 'lrelu' else 1.0
        self.weight = rnd.param(out_channels, in_channels, kernel_size, kernel_size)
        self.bias = rnd.param(out_channels) if bias else None
        self.remember_init((in_channels, out_channels, kernel_size), dict(bias=bias, activation=activation, down=down))


class DiscriminatorBlock(Persistent):
    def __init__(self, rnd, in_channels, tmp_channels, out_channels, resolution):
        super().__init__()
        self.in_channels, self.resolution, self.img_channels, self.architecture = in_channels, resolution, 3, 'resnet'
        self.register_buffer('resample_filter', setup_filter([1, 3, 3, 1]))
        if in_channels == 0:
            self.fromrgb = Conv2dLayer(rnd, 3, tmp_channels, 1, activation='lrelu')
        self.conv0 = Conv2dLayer(rnd, tmp_channels, tmp_channels, 3, activation='lrelu')
        self.conv1 = Conv2dLayer(rnd, tmp_channels, out_channels, 3, activation='lrelu', down=2)
        self.skip = Conv2dLayer(rnd, tmp_channels, out_channels, 1, bias=False, down=2)
        self.remember_init((in_channels, tmp_channels, out_channels), dict(resolution=resolution))


class MinibatchStdLayer(Persistent):
    def __init__(self, group_size, num_channels=1):
        super().__init__()
        self.group_size, self.num_channels = group_size, num_channels
        self.remember_init((), dict(group_size=group_size, num_channels=num_channels))


class DiscriminatorEpilogue(Persistent):
    def __init__(self, rnd, in_channels, resolution):
        super().__init__()
        self.in_channels, self.cmap_dim, self.resolution, self.img_channels, self.architecture = in_channels, 0, resolution, 3, 'resnet'
        self.mbstd = MinibatchStdLayer(4)
        self.conv = Conv2dLayer(rnd, in_channels + 1, in_channels, 3, activation='lrelu')
        self.fc = FullyConnectedLayer(rnd, in_channels * resolution ** 2, in_channels, 'lrelu')
        self.out = FullyConnectedLayer(rnd, in_channels, 1)
        self.remember_init((in_channels,), dict(cmap_dim=0, resolution=resolution))


class Discriminator(Persistent):
    def __init__(self, seed):
        super().__init__()
        rnd = AdaRandom(seed)
        self.c_dim, self.img_resolution, self.img_resolution_log2, self.img_channels = 0, 8, 3, 3
        self.block_resolutions = [8]
        self.b8 = DiscriminatorBlock(rnd, 0, ADA_CHANNELS[8], ADA_CHANNELS[4], 8)
        self.b4 = DiscriminatorEpilogue(rnd, ADA_CHANNELS[4], 4)
        self.remember_init((), dict(c_dim=0, img_resolution=8, img_channels=3,
                                    epilogue_kwargs=EasyDict(mbstd_group_size=4)))


def ada_manifest(path, module, arrays, modules):
    """Module tree and every tensor / numpy attribute, named like state_dict keys under `path/`."""
    top, _, prefix = path.partition('/')
    names = dict(parameters=[n for n, p in module._parameters.items() if p is not None],
                 buffers=list(module._buffers), modules=list(module._modules))
    attrs = {k: v for k, v in module.__dict__.items()
             if not k.startswith('_') and k != 'training' and isinstance(v, (int, float, str, list, type(None)))
             and not isinstance(v, np.generic)}
    modules.append(dict(path=path, class_name=type(module).__name__, attrs=attrs, **names))
    dot = f'{prefix}.' if prefix else ''
    for kind in ('parameters', 'buffers'):
        for n in names[kind]:
            t = getattr(module, n)
            arrays.append(array_entry(f'{top}/{dot}{n}', t, parameter=kind == 'parameters'))
    for k, v in module.__dict__.items():
        if isinstance(v, np.generic):
            arrays.append(array_entry(f'{top}/{dot}{k}', v, scalar=True))
    for n, child in module._modules.items():
        ada_manifest(f'{path}.{n}' if prefix else f'{path}/{n}', child, arrays, modules)


def stylegan2ada_fixture(manifest):
    data = {'training_set_kwargs': EasyDict(path='~/datasets/stand-in.zip', resolution=8, use_labels=False,
                                            max_size=70000, xflip=True),
            'G': Generator(3), 'D': Discriminator(4), 'G_ema': Generator(5), 'augment_pipe': None}
    for key in ('G', 'D', 'G_ema'):
        data[key].eval().requires_grad_(False)  # as training_loop does before saving a snapshot
    arrays, modules = [], []
    for key in ('G', 'D', 'G_ema'):
        ada_manifest(key, data[key], arrays, modules)
    files = {str(p): write(f'stylegan2ada-8.p{p}.pkl', torch_dumps(data, p)) for p in (2, 4)}
    manifest['stylegan2ada-8'] = dict(kind='persistent', top=list(data), files=files, modules=modules, arrays=arrays,
                                       training_set_kwargs=dict(data['training_set_kwargs']))


# --------------------------------------------------------------------------------------------------
# torch.save files

def torch_save_fixture(manifest):
    g = torch.Generator().manual_seed(6)
    w = torch.randn(3, 4, generator=g)
    tensors = {
        'weight': w, 'weight_t': w.t(), 'row': w[1], 'col': w[:, 2],
        'half': torch.randn(5, generator=g).half(), 'bf16': torch.randn(3, generator=g).bfloat16(),
        'double': torch.randn(2, 2, generator=g).double(), 'long': torch.arange(-3, 3),
        'int': torch.arange(4, dtype=torch.int32), 'byte': torch.arange(250, 256, dtype=torch.uint8),
        'flag': torch.tensor([True, False, True]), 'scalar': torch.tensor(2.5, dtype=torch.float64),
        'empty': torch.zeros(0, 2),
        'param': torch.nn.Parameter(torch.randn(2, 2, generator=g)),
    }
    obj = dict(tensors, meta={'step': 7, 'names': ['a', 'b']})
    f = io.BytesIO()
    torch.save(obj, f)
    files = {'zip': write('torch-save.pt', f.getvalue()), 'legacy': write('torch-save-legacy.pt', legacy_torch_save(obj))}
    arrays = [array_entry(k, t, parameter=isinstance(t, torch.nn.Parameter), stride=list(t.stride()),
                          storage_offset=t.storage_offset()) for k, t in tensors.items()]
    manifest['torch-save'] = dict(kind='torch', files=files, arrays=arrays,
                                  shared_storage=[['weight', 'weight_t', 'row', 'col']])


# --------------------------------------------------------------------------------------------------
# Everything else: Python values, numpy dtypes and layouts, all protocols

def misc_fixture(manifest):
    rng = np.random.RandomState(7)
    shared = ['shared']
    arrays = {
        'f32': rng.standard_normal((2, 3)).astype(np.float32),
        'f64': rng.standard_normal(3),
        'f16': rng.standard_normal(4).astype(np.float16),
        'i64': np.array([-2 ** 62, -1, 0, 2 ** 62], dtype=np.int64),
        'i32': np.array([-5, 7], dtype=np.int32), 'i16': np.array([-300], dtype=np.int16),
        'i8': np.array([-128, 127], dtype=np.int8), 'u8': np.arange(250, 256, dtype=np.uint8),
        'u16': np.array([65535], dtype=np.uint16), 'u32': np.array([4000000000], dtype=np.uint32),
        'u64': np.array([2 ** 64 - 1], dtype=np.uint64), 'bool': np.array([True, False, True]),
        'big_endian': np.arange(6, dtype='>f4').reshape(2, 3),
        'fortran': np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3)),
        'zero_d': np.array(3.25, dtype=np.float32), 'empty': np.zeros((0, 3), np.float32),
    }
    scalars = {'f32': np.float32(0.5), 'f64': np.sqrt(np.float64(2)), 'i64': np.int64(-7), 'bool': np.bool_(True),
               'f16': np.float16(1.5)}
    obj = {
        'none': None, 'true': True, 'false': False,
        'ints': [0, 1, -1, 255, 256, 65535, 65536, -2 ** 31, 2 ** 31 - 1, 2 ** 31, 2 ** 53 - 1, 2 ** 53, -2 ** 63,
                 2 ** 64 + 1, -(2 ** 100)],
        'floats': [0.5, -1e300, float('inf')],
        'strs': ['', 'ascii', 'ünïcödé ✓', 'x' * 300],
        'bytes': [b'', b'\x00\x80\xff', bytes(range(256)) * 2],
        'bytearray': bytearray(b'\x01\x02\x80'),
        'tuples': (1, (2, 3), (4, 5, 6), (7, 8, 9, 10), ()),
        'set': {1, 2, 3}, 'frozenset': frozenset({'a'}),
        'ordered': collections.OrderedDict([('b', 1), ('a', 2)]),
        'easydict': EasyDict(x=1),
        'shared': [shared, shared],
        'keys': {1: 'one', (2, 3): 'pair'},
        'arrays': arrays, 'scalars': scalars,
    }
    files = {str(p): write(f'misc.p{p}.pkl', pickle.dumps(obj, protocol=p)) for p in (2, 3, 4, 5)}
    entries = [array_entry(f'arrays/{k}', a) for k, a in arrays.items()]
    entries += [array_entry(f'scalars/{k}', s, scalar=True) for k, s in scalars.items()]
    manifest['misc'] = dict(kind='misc', files=files, arrays=entries,
                            fortran=['arrays/fortran'], big_endian=['arrays/big_endian'])


def main():
    os.makedirs(OUT, exist_ok=True)
    check_legacy_writer()
    manifest = {}
    stylegan1_fixture(manifest)
    stylegan1_conditional_fixture(manifest)
    progan_fixture(manifest)
    progan_theano_fixture(manifest)
    stylegan2ada_fixture(manifest)
    torch_save_fixture(manifest)
    misc_fixture(manifest)
    with open(os.path.join(OUT, 'manifest.json'), 'w') as f:
        f.write(compact_json(dict(generator='tools/make-pickle-fixtures.py', fixtures=manifest)) + '\n')
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f'wrote {len(os.listdir(OUT))} files, {total} bytes, to {OUT}')


if __name__ == '__main__':
    if len(sys.argv) == 3 and sys.argv[1] == '--ffhq1024':
        ffhq1024_pickle(sys.argv[2])
    elif len(sys.argv) == 5 and sys.argv[1] == '--stylegan1':
        stylegan1_sized_pickle(sys.argv[4], int(sys.argv[2]), int(sys.argv[3]))
    elif len(sys.argv) == 3 and sys.argv[1] == '--progan1024':
        progan1024_pickle(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == '--stylegan1-128':
        stylegan1_128_pickle(sys.argv[2])
    else:
        main()
