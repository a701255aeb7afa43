#!/usr/bin/python3
"""An independent safetensors reader/writer in plain numpy + json, for interoperability tests.

  safetensors-check.py read FILE    prints {"metadata": {...}, "tensors": {name: {dtype, shape, values}}} as JSON;
                                    values are the flattened elements (bfloat16 widened to float32, float NaN/inf
                                    as the strings "nan", "inf", "-inf").
  safetensors-check.py write FILE   writes a sample file following the specification, tensors in reverse
                                    alphabetical data order, with metadata {"written_by": "numpy"}.
"""
import json
import struct
import sys

import numpy as np

NUMPY_DTYPE = {
    'F64': '<f8', 'F32': '<f4', 'F16': '<f2', 'BF16': '<u2',
    'I64': '<i8', 'I32': '<i4', 'I16': '<i2', 'I8': 'i1',
    'U64': '<u8', 'U32': '<u4', 'U16': '<u2', 'U8': 'u1', 'BOOL': '?',
}


def plain(value):
    if isinstance(value, float) and not np.isfinite(value):
        return 'nan' if np.isnan(value) else ('inf' if value > 0 else '-inf')
    return value


def read(path):
    with open(path, 'rb') as f:
        blob = f.read()
    (n,) = struct.unpack('<Q', blob[:8])
    header = json.loads(blob[8:8 + n].decode('utf-8'))
    data = blob[8 + n:]
    out = {'metadata': header.pop('__metadata__', {}), 'tensors': {}}
    for name, info in header.items():
        begin, end = info['data_offsets']
        array = np.frombuffer(data[begin:end], dtype=NUMPY_DTYPE[info['dtype']])
        if info['dtype'] == 'BF16':
            array = (array.astype(np.uint32) << 16).view(np.float32)
        array = array.reshape(info['shape'])
        out['tensors'][name] = {
            'dtype': info['dtype'],
            'shape': list(array.shape),
            'values': [plain(v) for v in array.ravel().tolist()],
        }
    json.dump(out, sys.stdout)


def write(path):
    tensors = {  # name: (array, safetensors dtype)
        'weight': (np.arange(6, dtype='<f4').reshape(2, 3) / 4, 'F32'),
        'bias': (np.array([-1.5, 2.25], dtype='<f8'), 'F64'),
        'steps': (np.array([[1, -2], [3, 2**40]], dtype='<i8'), 'I64'),
        'half': (np.array([0.5, -3.0, 65504.0], dtype='<f2'), 'F16'),
        'mask': (np.array([True, False, True]), 'BOOL'),
        'scalar': (np.array(7, dtype='<i4'), 'I32'),
        'empty': (np.zeros((0, 4), dtype='<f4'), 'F32'),
    }
    header = {'__metadata__': {'written_by': 'numpy'}}
    chunks = []
    offset = 0
    for name in sorted(tensors, reverse=True):
        array, code = tensors[name]
        raw = array.tobytes()
        header[name] = {'dtype': code, 'shape': list(array.shape), 'data_offsets': [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode('utf-8')
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(chunks))


if __name__ == '__main__':
    {'read': read, 'write': write}[sys.argv[1]](sys.argv[2])
