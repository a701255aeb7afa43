"""Engine micro-benchmarks (PyTorch peer of stylegan-ts's engine bench). Prints ONE JSON object.

Cases (defaults; every shape is a flag). The TypeScript side must build exactly the same graphs:

  conv3x3_fwd       y = conv2d(x, w, padding 1), no bias. x [8, 128, 32, 32] ~ N(0,1), w [128, 128, 3, 3] ~ N(0,1)/sqrt(9*128).
                    Flags: --conv-batch 8 --conv-channels 128 (in = out) --conv-size 32 --conv-kernel 3 (padding k//2).
  conv3x3_fwd_bwd   same forward, then (dx, dw) = autograd.grad(y, (x, w), grad_outputs=gy) with a fixed gy ~ N(0,1)
                    of y's shape (grads returned, not accumulated into .grad).
  mlp_fwd_bwd       8 x [y = leaky_relu(linear(y, W_i, b_i), 0.2)], W_i [512, 512] ~ N(0,1)/sqrt(512), b_i = 0,
                    input [64, 512] ~ N(0,1) (no grad); then autograd.grad(out, all W_i and b_i, grad_outputs=g) with a
                    fixed g ~ N(0,1) [64, 512]. Plain weights (no equalized-lr scaling).
                    Flags: --mlp-batch 64 --mlp-width 512 --mlp-layers 8.
  r1_step           D: for each width c in --r1-channels (default 64,128): conv3x3 (prev -> c, padding 1, + bias) ->
                    leaky_relu 0.2 -> avg_pool2d(2); starting from 3 channels at --r1-size 32 (so 32 -> 16 -> 8), then
                    flatten -> linear (128*8*8 -> 1, + bias). Weights ~ N(0,1)/sqrt(fan_in), biases 0.
                    Reals x [16, 3, 32, 32] ~ N(0,1), requires_grad. One step:
                      s = D(x)                                          [N, 1]
                      (g,) = autograd.grad(s.sum(), x, create_graph=True)
                      r1 = g.square().sum(dim=(1, 2, 3))                 [N] (per-sample squared norm, as official)
                      loss = mean(softplus(-s[:, 0]) + gamma / 2 * r1)    gamma = --r1-gamma 10
                      autograd.grad(loss, D's weights and biases)        (double backward)
                    Flags: --r1-batch 16 --r1-size 32 --r1-channels 64,128 --r1-gamma 10.
  tiny_add          c = a.add(b) with a, b 1-element float32 tensors, --tiny-calls 10000 calls per timed
                    iteration (device synchronized once per iteration, not per call). Reported as us_per_call
                    (median iteration / calls) besides ms_per_iter.

--cases picks a subset (comma-separated names above). Timing protocol: bench_common.py.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from bench_common import (base_parser, emit, environment, fail, parse_int_list, parse_name_list, setup,
                          time_case)

CASES = ['conv3x3_fwd', 'conv3x3_fwd_bwd', 'mlp_fwd_bwd', 'r1_step', 'tiny_add']
LRELU_SLOPE = 0.2


def he_normal(shape: list[int], fan_in: int, device: torch.device) -> torch.Tensor:
    return (torch.randn(shape, device=device) / math.sqrt(fan_in)).requires_grad_(True)


def conv_cases(args, device):
    n, c, s, k = args.conv_batch, args.conv_channels, args.conv_size, args.conv_kernel
    x = torch.randn(n, c, s, s, device=device).requires_grad_(True)
    w = he_normal([c, c, k, k], c * k * k, device)
    gy = torch.randn(n, c, s, s, device=device)
    config = {'input': [n, c, s, s], 'weight': [c, c, k, k], 'padding': k // 2, 'bias': False}

    def forward():
        with torch.no_grad():
            return F.conv2d(x, w, padding=k // 2)

    def forward_backward():
        y = F.conv2d(x, w, padding=k // 2)
        return torch.autograd.grad(y, (x, w), grad_outputs=gy)

    return {
        'conv3x3_fwd': (forward, dict(config, grads=[])),
        'conv3x3_fwd_bwd': (forward_backward, dict(config, grads=['input', 'weight'])),
    }


def mlp_case(args, device):
    n, width, layers = args.mlp_batch, args.mlp_width, args.mlp_layers
    x = torch.randn(n, width, device=device)
    params = []
    for _ in range(layers):
        params += [he_normal([width, width], width, device), torch.zeros(width, device=device).requires_grad_(True)]
    g = torch.randn(n, width, device=device)

    def step():
        y = x
        for i in range(layers):
            y = F.leaky_relu(F.linear(y, params[2 * i], params[2 * i + 1]), LRELU_SLOPE)
        return torch.autograd.grad(y, params, grad_outputs=g)

    return step, {'input': [n, width], 'layers': layers, 'width': width, 'activation': 'leaky_relu 0.2',
                  'grads': 'all weights and biases'}


def r1_case(args, device):
    n, size, widths, gamma = args.r1_batch, args.r1_size, args.r1_channels, args.r1_gamma
    if size % (2 ** len(widths)) != 0:
        fail(f'--r1-size {size} is not divisible by 2^{len(widths)} (one 2x avg-pool per width)')
    params = []
    c_in = 3
    for c in widths:
        params += [he_normal([c, c_in, 3, 3], c_in * 9, device), torch.zeros(c, device=device).requires_grad_(True)]
        c_in = c
    flat = c_in * (size // 2 ** len(widths)) ** 2
    params += [he_normal([1, flat], flat, device), torch.zeros(1, device=device).requires_grad_(True)]
    x = torch.randn(n, 3, size, size, device=device).requires_grad_(True)

    def discriminator(images):
        y = images
        for i in range(len(widths)):
            y = F.avg_pool2d(F.leaky_relu(F.conv2d(y, params[2 * i], params[2 * i + 1], padding=1), LRELU_SLOPE), 2)
        return F.linear(y.flatten(1), params[-2], params[-1])

    def step():
        scores = discriminator(x)
        (grad,) = torch.autograd.grad(scores.sum(), x, create_graph=True)
        r1 = grad.square().sum(dim=(1, 2, 3))
        loss = (F.softplus(-scores[:, 0]) + (gamma / 2) * r1).mean()
        return torch.autograd.grad(loss, params)

    return step, {'input': [n, 3, size, size], 'channels': [3] + widths, 'dense_in': flat, 'gamma': gamma,
                  'downsample': 'avg_pool2d(2)', 'activation': 'leaky_relu 0.2'}


def tiny_case(args, device):
    a = torch.ones(1, device=device)
    b = torch.ones(1, device=device)
    calls = args.tiny_calls

    def step():
        for _ in range(calls):
            a.add(b)

    return step, {'shape': [1], 'op': 'a.add(b)', 'calls_per_iter': calls}


def main() -> None:
    parser = base_parser(__doc__.split('\n')[0], iters=20, warmup=3)
    parser.add_argument('--cases', type=parse_name_list, default=CASES, help='subset of: ' + ','.join(CASES))
    parser.add_argument('--conv-batch', type=int, default=8)
    parser.add_argument('--conv-channels', type=int, default=128)
    parser.add_argument('--conv-size', type=int, default=32)
    parser.add_argument('--conv-kernel', type=int, default=3)
    parser.add_argument('--mlp-batch', type=int, default=64)
    parser.add_argument('--mlp-width', type=int, default=512)
    parser.add_argument('--mlp-layers', type=int, default=8)
    parser.add_argument('--r1-batch', type=int, default=16)
    parser.add_argument('--r1-size', type=int, default=32)
    parser.add_argument('--r1-channels', type=parse_int_list, default=[64, 128])
    parser.add_argument('--r1-gamma', type=float, default=10.0)
    parser.add_argument('--tiny-calls', type=int, default=10000)
    args = parser.parse_args()
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        fail(f'unknown --cases {unknown}; known: {CASES}')
    device = setup(args)

    builders = {}
    if {'conv3x3_fwd', 'conv3x3_fwd_bwd'} & set(args.cases):
        builders.update(conv_cases(args, device))
    if 'mlp_fwd_bwd' in args.cases:
        builders['mlp_fwd_bwd'] = mlp_case(args, device)
    if 'r1_step' in args.cases:
        builders['r1_step'] = r1_case(args, device)
    if 'tiny_add' in args.cases:
        builders['tiny_add'] = tiny_case(args, device)

    results = {}
    for name in args.cases:
        fn, config = builders[name]
        timing = time_case(fn, device, args.warmup, args.iters)
        if name == 'tiny_add':
            timing['us_per_call'] = timing['ms_per_iter'] * 1e3 / args.tiny_calls
        results[name] = dict(config=config, **timing)
    emit({'bench': 'engine', 'env': environment(args, device), 'results': results})


if __name__ == '__main__':
    main()
