#!/usr/bin/env python3
"""Writes the hostile network pickles of test/fixtures/hostile/ (the fuzz and fault suite's expansion and depth
bombs). Each is the StyleGAN1 fixture test/fixtures/pickles/stylegan1-32.p4.pkl with one static kwarg of G replaced:

- kwargs-shared.pkl: a list nested 40 levels deep whose every level holds the level below twice (2**40 values
  once shared references are expanded; the file stays ~79 KB);
- kwargs-cycle.pkl: a list that contains itself;
- kwargs-deep.pkl: lists nested 3,000 levels deep.

The stand-in classes come from tools/make-pickle-fixtures.py; nothing here is ever executed by the reader.
"""
import importlib.util
import os
import pickle
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, 'test', 'fixtures', 'hostile')

spec = importlib.util.spec_from_file_location('fixtures', os.path.join(HERE, 'make-pickle-fixtures.py'))
fixtures = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fixtures)


def with_kwarg(value):
    with open(os.path.join(ROOT, 'test', 'fixtures', 'pickles', 'stylegan1-32.p4.pkl'), 'rb') as f:
        g, d, gs = pickle.load(f)
    g.static_kwargs = dict(g.static_kwargs, hostile=value)
    return pickle.dumps((g, d, gs), protocol=4)


def main():
    os.makedirs(OUT, exist_ok=True)
    sys.setrecursionlimit(100000)
    shared = [1]
    for _ in range(40):
        shared = [shared, shared]
    cycle = []
    cycle.append(cycle)
    deep = []
    for _ in range(3000):
        deep = [deep]
    for name, value in (('kwargs-shared.pkl', shared), ('kwargs-cycle.pkl', cycle), ('kwargs-deep.pkl', deep)):
        with open(os.path.join(OUT, name), 'wb') as f:
            f.write(with_kwarg(value))
        print(name, os.path.getsize(os.path.join(OUT, name)))


if __name__ == '__main__':
    main()
