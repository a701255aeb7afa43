"""PyTorch peer of bench/distributed.ts: all-reduce (sum) of float32 tensors over torch.distributed (Gloo; NCCL on CUDA).

One process per rank: `dist_bench.py --rank R --world W --port P --sizes 1,4,25` joins the group at
tcp://127.0.0.1:P, times an in-place all-reduce of each size (millions of floats, 2**20 each) with the protocol of
bench_common.time_case, and rank 0 prints ONE JSON object: {"peer": "pytorch", "env": ..., "results": {size: timing}}.
"""
from __future__ import annotations

import json

import torch
import torch.distributed as dist

from bench_common import base_parser, parse_int_list, setup, time_case


def main() -> None:
    parser = base_parser('all-reduce bandwidth over Gloo (PyTorch peer)', iters=10, warmup=2)
    parser.add_argument('--rank', type=int, required=True)
    parser.add_argument('--world', type=int, required=True)
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--sizes', type=parse_int_list, default=[1, 4, 25], help='millions (2**20) of floats')
    args = parser.parse_args()
    device = setup(args)
    if device.type == 'cuda':  # one GPU per process, NCCL
        device = torch.device('cuda', args.rank)
        torch.cuda.set_device(device)
    dist.init_process_group('nccl' if device.type == 'cuda' else 'gloo', init_method=f'tcp://127.0.0.1:{args.port}', rank=args.rank, world_size=args.world)
    results = {}
    for size in args.sizes:
        t = torch.full((size << 20,), float(args.rank), device=device)
        results[str(size)] = time_case(lambda: dist.all_reduce(t), device, args.warmup, args.iters)
    dist.barrier()
    if args.rank == 0:
        print(json.dumps({'peer': 'pytorch', 'torch': torch.__version__, 'results': results}))
    dist.destroy_process_group()


if __name__ == '__main__':
    main()
