"""Shared plumbing for the PyTorch peer benchmarks in bench/py/.

Every benchmark script takes the same base flags (--threads, --device, --iters, --warmup, --seed),
times its cases with `time_case` and prints exactly ONE JSON object on stdout with `emit`.

Timing protocol (the TypeScript side must mirror it):
  * `warmup` untimed calls first, then `iters` timed calls;
  * each timed call is measured on its own with time.perf_counter; on CUDA the device is
    synchronized before starting the clock and again before stopping it;
  * reported: ms_per_iter (median of the timed calls), ms_mean, ms_min, ms_max and every sample.

Runs with Debian's /usr/bin/python3 + torch 1.13 (CPU) and with PyTorch 2.x + CUDA.
"""
from __future__ import annotations

import argparse
import os
import json
import platform
import statistics
import sys
import time
from typing import Callable

import torch


def base_parser(description: str, iters: int, warmup: int) -> argparse.ArgumentParser:
    """Parser with the flags every bench script shares; `iters` / `warmup` are that script's defaults."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--threads', type=int, default=None,
                        help='torch.set_num_threads(N) for CPU ops (default: leave torch\'s choice)')
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda' (or 'cuda:N')")
    parser.add_argument('--iters', type=int, default=iters, help=f'timed iterations per case (default {iters})')
    parser.add_argument('--warmup', type=int, default=warmup, help=f'untimed iterations first (default {warmup})')
    parser.add_argument('--seed', type=int, default=0, help='torch.manual_seed (default 0)')
    parser.add_argument('--memory-format', choices=['nchw', 'channels_last'], default='nchw',
                        help='layout of the networks and their image inputs (default nchw)')
    parser.add_argument('--autocast', choices=['none', 'bf16'], default='none',
                        help='run the timed calls under torch.autocast with bfloat16 (default none)')
    parser.add_argument('--cudnn-benchmark', action='store_true', help='CUDA: torch.backends.cudnn.benchmark = True')
    parser.add_argument('--tf32', action='store_true',
                        help='CUDA: allow TF32 in matmul and cuDNN (default off: strict float32)')
    return parser


def parse_int_list(text: str) -> list[int]:
    """'1,8' -> [1, 8] (for list-valued flags)."""
    try:
        return [int(part) for part in text.split(',') if part.strip() != '']
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected comma-separated integers, got {text!r}') from None


def parse_name_list(text: str) -> list[str]:
    """'a,b' -> ['a', 'b'] (for list-valued flags)."""
    return [part.strip() for part in text.split(',') if part.strip() != '']


def setup(args: argparse.Namespace) -> torch.device:
    """Apply --threads / --seed, check --iters / --warmup and return the torch device for --device."""
    if args.iters < 1:
        fail(f'--iters must be >= 1, got {args.iters}')
    if args.warmup < 0:
        fail(f'--warmup must be >= 0, got {args.warmup}')
    if args.threads is not None:
        if args.threads < 1:
            fail(f'--threads must be >= 1, got {args.threads}')
        torch.set_num_threads(args.threads)
    try:
        device = torch.device(args.device)
    except RuntimeError:
        device = None
    if device is None or device.type not in ('cpu', 'cuda'):
        fail(f"--device must be 'cpu' or 'cuda[:N]', got {args.device!r}")
    if device.type == 'cuda' and not torch.cuda.is_available():
        fail(f'--device {args.device}: CUDA is not available in this torch build ({torch.__version__})')
    if device.type == 'cuda':
        torch.backends.cudnn.benchmark = args.cudnn_benchmark
        torch.backends.cuda.matmul.allow_tf32 = args.tf32
        torch.backends.cudnn.allow_tf32 = args.tf32
    torch.manual_seed(args.seed)
    return device


def fail(message: str) -> None:
    """Exit with a clear message on stderr (stdout stays reserved for the JSON object)."""
    print(f'{sys.argv[0]}: error: {message}', file=sys.stderr)
    sys.exit(2)


def sync(device: torch.device) -> None:
    """Wait for queued device work (no-op on CPU)."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_case(fn: Callable[[], object], device: torch.device, warmup: int, iters: int) -> dict:
    """Run fn `warmup` times untimed, then `iters` times timed one by one (see module docstring)."""
    for _ in range(warmup):
        fn()
    sync(device)
    samples = []
    for _ in range(iters):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        samples.append((time.perf_counter() - start) * 1e3)
    return summarize_ms(samples, warmup)


def summarize_ms(samples: list[float], warmup: int) -> dict:
    """Summary of per-iteration times in milliseconds."""
    return {
        'ms_per_iter': statistics.median(samples),
        'ms_mean': statistics.fmean(samples),
        'ms_min': min(samples),
        'ms_max': max(samples),
        'iters': len(samples),
        'warmup': warmup,
        'samples_ms': samples,
    }


def images_per_s(timing: dict, batch: int) -> float:
    """Throughput from the median iteration time."""
    return batch * 1e3 / timing['ms_per_iter']


def environment(args: argparse.Namespace, device: torch.device) -> dict:
    """The run's configuration, printed next to the numbers so ratios compare like with like."""
    env = {
        'torch': torch.__version__,
        'python': platform.python_version(),
        'device': str(device),
        'device_name': torch.cuda.get_device_name(device) if device.type == 'cuda' else cpu_name(),
        'threads': torch.get_num_threads(),
        'dtype': 'float32',
        'seed': args.seed,
        'memory_format': args.memory_format,
        'autocast': args.autocast,
        'ld_preload': os.environ.get('LD_PRELOAD', ''),
        'malloc_conf': os.environ.get('MALLOC_CONF', ''),
    }
    if device.type == 'cuda':
        env['cuda'] = torch.version.cuda
        env['cudnn_benchmark'] = torch.backends.cudnn.benchmark
        env['tf32'] = torch.backends.cudnn.allow_tf32 or torch.backends.cuda.matmul.allow_tf32
    return env


def cpu_name() -> str:
    """CPU model from /proc/cpuinfo where there is one, else the machine type."""
    try:
        with open('/proc/cpuinfo') as info:
            for line in info:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def emit(result: dict) -> None:
    """Print the ONE JSON object of a run on stdout."""
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write('\n')
    sys.stdout.flush()


def memory_format(args: argparse.Namespace) -> torch.memory_format:
    """The --memory-format as torch's memory format."""
    return torch.channels_last if args.memory_format == 'channels_last' else torch.contiguous_format


def with_autocast(args: argparse.Namespace, device: torch.device, fn: Callable[[], object]) -> Callable[[], object]:
    """fn, run under torch.autocast(bfloat16) when --autocast bf16."""
    if args.autocast == 'none':
        return fn

    def wrapped():
        with torch.autocast(device.type, dtype=torch.bfloat16):
            return fn()
    return wrapped
