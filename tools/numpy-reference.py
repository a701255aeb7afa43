#!/usr/bin/python3
"""Prints reference values of numpy's legacy RandomState as JSON (test/fixtures/numpy-random.json).

Run with a Python that has numpy:  /usr/bin/python3 tools/numpy-reference.py > test/fixtures/numpy-random.json
Floats are printed with repr precision, so they parse back to the exact float64 values.
"""
import hashlib
import json
import sys

import numpy as np

INT_SEEDS = [0, 1, 42, 85, 123456789, 2**32 - 1]
ARRAY_SEEDS = [[1, 2, 3], [2**32 - 1, 0, 7, 123456789], list(range(700))]
LATENT_SEEDS = range(200)
LATENT_DIM = 512


def floats(values):
    return [float(v) for v in np.asarray(values, dtype=np.float64).ravel()]


def per_seed(seed):
    return {
        'seed': seed,
        'randn16': floats(np.random.RandomState(seed).randn(16)),
        'random_sample8': floats(np.random.RandomState(seed).random_sample(8)),
        'randint': {
            'small_0_10': [int(v) for v in np.random.RandomState(seed).randint(0, 10, 8)],
            'negative_m5_17': [int(v) for v in np.random.RandomState(seed).randint(-5, 17, 8)],
            'full32_0_2p32': [int(v) for v in np.random.RandomState(seed).randint(0, 2**32, 4)],
            'wide_0_3e12': [int(v) for v in np.random.RandomState(seed).randint(0, 3 * 10**12, 4)],
        },
        'uniform_m2_3': floats(np.random.RandomState(seed).uniform(-2.0, 3.0, 4)),
    }


def mixed_sequence(seed):
    """Interleaved calls: an odd randn count leaves a cached normal that the next randn call must return first."""
    rs = np.random.RandomState(seed)
    steps = []
    steps.append({'call': 'randn', 'n': 3, 'values': floats(rs.randn(3))})
    steps.append({'call': 'random_sample', 'n': 2, 'values': floats(rs.random_sample(2))})
    steps.append({'call': 'randn', 'n': 1, 'values': floats(rs.randn(1))})
    steps.append({'call': 'randint', 'low': 0, 'high': 1000, 'n': 3, 'values': [int(v) for v in rs.randint(0, 1000, 3)]})
    steps.append({'call': 'randn', 'n': 5, 'values': floats(rs.randn(5))})
    steps.append({'call': 'standard_normal', 'n': 2, 'values': floats(rs.standard_normal(2))})
    steps.append({'call': 'uniform', 'low': 1.5, 'high': 2.5, 'n': 2, 'values': floats(rs.uniform(1.5, 2.5, 2))})
    steps.append({'call': 'randn', 'n': 1, 'values': floats(rs.randn(1))})
    return {'seed': seed, 'steps': steps}


def latent_digest(seed):
    z = np.random.RandomState(seed).randn(1, LATENT_DIM).astype(np.float32)
    return hashlib.sha256(z.astype('<f4').tobytes()).hexdigest()[:16]


def main():
    reference = {
        'numpy_version': np.__version__,
        'int_seeds': [per_seed(s) for s in INT_SEEDS],
        'array_seeds': [
            {'seed': s, 'randn8': floats(np.random.RandomState(s).randn(8)),
             'random_sample4': floats(np.random.RandomState(s).random_sample(4))}
            for s in ARRAY_SEEDS
        ],
        'mixed': [mixed_sequence(s) for s in (0, 7)],
        'latent_dim': LATENT_DIM,
        'latent_float32_sha256_16': {str(s): latent_digest(s) for s in LATENT_SEEDS},
        'latent_seed85_first8': floats(np.random.RandomState(85).randn(1, LATENT_DIM).astype(np.float32)[0, :8]),
    }
    json.dump(reference, sys.stdout, indent=1)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
