"""Whole-network benchmarks on stylegan_nets.py (PyTorch peer of stylegan-ts's nets bench). Prints ONE JSON object.

Cases (networks in the official default configuration: fmap_base 8192, fmap_decay 1, fmap_max 512, latent 512,
mapping 8 x 512; weights freshly initialized with --seed):

  g_fwd    for each net in --nets (stylegan, progan), each resolution in --g-res (default 1024,256) and each batch
           in --g-batch (default 1,8): images = G(z), z ~ N(0,1) [batch, 512] drawn anew each iteration, no grad.
           StyleGAN G is Gs at inference: mapping, truncation psi 0.7 cutoff 8 around dlatent_avg (zeros here),
           fresh noise maps each call (randomize_noise), synthesis. Reported as images_per_s.
  d_fwd_bwd for each net: D at --d-res (default 64) with batch --d-batch (default 16): scores = D(x), x ~ N(0,1)
           fixed, then autograd.grad(scores.sum(), D's parameters) (grads returned, not accumulated).
           Minibatch stddev group 4. Reported as images_per_s and ms_per_iter.

--quick: 1 warmup and 1 timed iteration per case (a 1024 forward takes seconds on 2 CPU cores).
Timing protocol: bench_common.py. Case keys: '<net>_g_fwd_<res>_b<batch>', '<net>_d_fwd_bwd_<res>_b<batch>'.
"""
from __future__ import annotations

import torch

from bench_common import (base_parser, emit, environment, fail, images_per_s, memory_format, parse_int_list,
                          parse_name_list, setup, time_case, with_autocast)
from stylegan_nets import Discriminator, GPaper, GStyle, trainable_count

NETS = ['stylegan', 'progan']


def make_generator(net: str, resolution: int) -> torch.nn.Module:
    return GStyle(resolution=resolution) if net == 'stylegan' else GPaper(resolution=resolution)


def g_forward_case(net: str, resolution: int, batch: int, device: torch.device, fmt=torch.contiguous_format):
    g = make_generator(net, resolution).to(device, memory_format=fmt).eval()
    latent_size = g.latent_size

    def step():
        with torch.no_grad():
            return g(torch.randn(batch, latent_size, device=device))

    config = {'net': net, 'resolution': resolution, 'batch': batch, 'params': trainable_count(g), 'grad': False}
    if net == 'stylegan':
        config.update(truncation_psi=g.truncation_psi, truncation_cutoff=g.truncation_cutoff, randomize_noise=True)
    return step, config


def d_forward_backward_case(net: str, resolution: int, batch: int, device: torch.device, fmt=torch.contiguous_format):
    d = Discriminator(resolution=resolution, style=net).to(device, memory_format=fmt)
    params = list(d.parameters())
    x = torch.randn(batch, 3, resolution, resolution, device=device).contiguous(memory_format=fmt)

    def step():
        return torch.autograd.grad(d(x).sum(), params, allow_unused=True)

    return step, {'net': net, 'resolution': resolution, 'batch': batch, 'params': trainable_count(d),
                  'grads': 'all D parameters used at lod 0 (FromRGB_lod1+ are unused)', 'mbstd_group_size': 4}


def main() -> None:
    parser = base_parser(__doc__.split('\n')[0], iters=5, warmup=1)
    parser.add_argument('--nets', type=parse_name_list, default=NETS, help='subset of: ' + ','.join(NETS))
    parser.add_argument('--g-res', type=parse_int_list, default=[1024, 256], help='G resolutions (default 1024,256)')
    parser.add_argument('--g-batch', type=parse_int_list, default=[1, 8], help='G batch sizes (default 1,8)')
    parser.add_argument('--d-res', type=parse_int_list, default=[64], help='D resolutions (default 64)')
    parser.add_argument('--d-batch', type=parse_int_list, default=[16], help='D batch sizes (default 16)')
    parser.add_argument('--quick', action='store_true', help='1 warmup + 1 timed iteration per case')
    args = parser.parse_args()
    if args.quick:
        args.warmup, args.iters = 1, 1
    unknown = [n for n in args.nets if n not in NETS]
    if unknown:
        fail(f'unknown --nets {unknown}; known: {NETS}')
    device = setup(args)

    cases = []
    for net in args.nets:
        cases += [(f'{net}_g_fwd_{r}_b{b}', g_forward_case, net, r, b) for r in args.g_res for b in args.g_batch]
        cases += [(f'{net}_d_fwd_bwd_{r}_b{b}', d_forward_backward_case, net, r, b)
                  for r in args.d_res for b in args.d_batch]
    results = {}
    for name, build, net, resolution, batch in cases:
        try:
            step, config = build(net, resolution, batch, device, memory_format(args))
        except ValueError as err:
            fail(f'{name}: {err}')
        config.update(precision='bf16' if args.autocast == 'bf16' else 'fp32')  # the layout is in env
        timing = time_case(with_autocast(args, device, step), device, args.warmup, args.iters)
        results[name] = dict(config=config, images_per_s=images_per_s(timing, batch), **timing)
        del step  # free the network before building the next one
    emit({'bench': 'nets', 'env': environment(args, device), 'quick': args.quick, 'results': results})


if __name__ == '__main__':
    main()
