"""Runs the PyTorch peer networks (bench/py/stylegan_nets.py) on the variables of a stylegan-ts checkpoint.

usage: nets_parity.py CHECKPOINT.safetensors
The checkpoint holds G/… and D/… under the official TF names and layouts, its config in the metadata, and two extra
tensors: `z` (latents) and `reals` (D's input). Writes G(z) (stored noise maps, no truncation) to
CHECKPOINT.images.f32 and D(reals) to CHECKPOINT.scores.f32, as raw little-endian float32.
"""
import json
import struct
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'bench' / 'py'))
import stylegan_nets as sn  # noqa: E402

DTYPES = {'F32': np.float32, 'F64': np.float64, 'F16': np.float16}


def read_safetensors(path):
    data = Path(path).read_bytes()
    (n,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop('__metadata__', {})
    base = 8 + n
    tensors = {}
    for name, h in header.items():
        start, end = h['data_offsets']
        arr = np.frombuffer(data[base + start:base + end], dtype=DTYPES[h['dtype']]).reshape(h['shape'])
        tensors[name] = torch.from_numpy(arr.astype(np.float32))
    return tensors, meta


def to_torch_layout(module, name, value):
    """Inverse of the peer's tf_shape: TF [in, out] → [out, in]; TF [k, k, in, out] (or [k, k, out, in]) → OIHW."""
    if name != 'weight' or not hasattr(module, 'tf_shape'):
        return value
    if value.dim() == 2:
        return value.t()
    return value.permute(2, 3, 0, 1) if getattr(module, 'tf_out_in', False) else value.permute(3, 2, 0, 1)


def load(net, tensors, prefix, prefix_map=None):
    for mod_name, mod in net.named_modules():
        entries = list(mod.named_parameters(recurse=False)) + list(mod.named_buffers(recurse=False))
        for name, target in entries:
            path = [p for p in mod_name.split('.') if p] + [name]
            if prefix_map and len(path) > 1 and path[0] in prefix_map:
                path[0] = prefix_map[path[0]]
            value = to_torch_layout(mod, name, tensors[prefix + '/'.join(path)])
            if tuple(value.shape) != tuple(target.shape):
                raise SystemExit(f'{prefix}{"/".join(path)}: shape {list(value.shape)} vs {list(target.shape)}')
            with torch.no_grad():
                target.copy_(value)


def main():
    tensors, meta = read_safetensors(sys.argv[1])
    cfg = json.loads(meta['config'])
    common = dict(resolution=cfg['resolution'], num_channels=cfg['numChannels'], fmap_base=cfg['fmapBase'],
                  fmap_decay=cfg['fmapDecay'], fmap_max=cfg['fmapMax'])
    d_kwargs = dict(common, mbstd_group_size=cfg['mbstdGroupSize'], mbstd_num_features=cfg['mbstdNumFeatures'])
    if cfg['arch'] == 'stylegan':
        G = sn.GStyle(**common, latent_size=cfg['latentSize'], dlatent_size=cfg['dlatentSize'],
                      mapping_layers=cfg['mappingLayers'], mapping_fmaps=cfg['mappingFmaps'],
                      mapping_lrmul=cfg['mappingLrmul'], randomize_noise=False)
        load(G, tensors, 'G/', sn.STYLEGAN_G_PREFIX)
        D = sn.Discriminator(**d_kwargs, style='stylegan')
        run_g = lambda z: G.synthesis(G.mapping(z))  # noqa: E731
    else:
        G = sn.GPaper(**common, latent_size=cfg['latentSize'])
        load(G, tensors, 'G/')
        D = sn.Discriminator(**d_kwargs, style='progan')
        run_g = G
    load(D, tensors, 'D/')
    G.eval()
    D.eval()
    with torch.no_grad():
        images = run_g(tensors['z'])
        scores = D(tensors['reals'])
    for name, t in (('images', images), ('scores', scores)):
        Path(f'{sys.argv[1]}.{name}.f32').write_bytes(t.contiguous().numpy().astype('<f4').tobytes())


if __name__ == '__main__':
    main()
