#!/usr/bin/python3
"""Independent references for the metric tests (Debian's /usr/bin/python3: numpy, and torch for `features`).

    metrics-reference.py features DETECTOR.pt IMAGES.npy OUT.npy KWARGS_JSON
        runs a TorchScript detector on uint8 images [N, C, H, W] (gray repeated to RGB) as PyTorch does
    metrics-reference.py metrics SPEC.json
        prints FID, KID, precision/recall, IS and the PPL filter computed with numpy from .npy features;
        SPEC: {"fid": [gen.npy, real.npy], "kid": [gen.npy, real.npy, subsets], "pr": [gen.npy, real.npy, k],
               "is": [probs.npy, splits], "ppl": dist.npy}

FID uses tr sqrt(S1 S2) = sum sqrt(eigvals(S1 S2)) with numpy's general eigensolver (not the symmetric one the
library uses), with the biased covariance of stylegan2-ada-pytorch. Precision/recall rounds features to float16 as
the official code does and measures exact float64 distances.
"""
import json
import sys

import numpy as np


def features(detector, images, out, kwargs):
    import torch
    m = torch.jit.load(detector).eval()
    x = torch.from_numpy(np.load(images))
    if x.shape[1] == 1:
        x = x.repeat([1, 3, 1, 1])
    with torch.no_grad():
        f = m(x, **json.loads(kwargs))
    np.save(out, f.numpy())


def fid(gen, real):
    g = np.load(gen).astype(np.float64)
    r = np.load(real).astype(np.float64)
    mg, mr = g.mean(0), r.mean(0)
    sg = (g - mg).T @ (g - mg) / len(g)
    sr = (r - mr).T @ (r - mr) / len(r)
    ev = np.linalg.eigvals(sg @ sr)
    root = np.sqrt(np.clip(ev.real, 0, None)).sum()
    return float(((mg - mr) ** 2).sum() + np.trace(sg) + np.trace(sr) - 2 * root)


def kid(gen, real, subsets):
    x_all = np.load(gen).astype(np.float64)
    y_all = np.load(real).astype(np.float64)
    n = x_all.shape[1]
    t = 0.0
    m = len(subsets[0]['x'])
    for s in subsets:
        x = x_all[s['x']]
        y = y_all[s['y']]
        a = (x @ x.T / n + 1) ** 3 + (y @ y.T / n + 1) ** 3
        b = (x @ y.T / n + 1) ** 3
        t += (a.sum() - np.diag(a).sum()) / (m - 1) - b.sum() * 2 / m
    return float(t / len(subsets) / m)


def pr(gen, real, k):
    g = np.load(gen).astype(np.float16).astype(np.float64)
    r = np.load(real).astype(np.float16).astype(np.float64)

    def dist(a, b):
        return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))

    out = []
    for manifold, probes in [(r, g), (g, r)]:
        radii = np.sort(dist(manifold, manifold), axis=1)[:, k].astype(np.float16).astype(np.float64)
        out.append(float((dist(probes, manifold) <= radii[None, :]).any(1).mean()))
    return out


def inception_score(probs, splits):
    p = np.load(probs).astype(np.float64)
    n = len(p)
    scores = []
    for i in range(splits):
        part = p[i * n // splits:(i + 1) * n // splits]
        kl = part * (np.log(part) - np.log(np.mean(part, axis=0, keepdims=True)))
        scores.append(np.exp(np.mean(np.sum(kl, axis=1))))
    return [float(np.mean(scores)), float(np.std(scores))]


def ppl_filter(path):
    d = np.load(path).astype(np.float64)
    lo = np.percentile(d, 1, method='lower')
    hi = np.percentile(d, 99, method='higher')
    return float(np.extract(np.logical_and(d >= lo, d <= hi), d).mean())


def metrics(spec_path):
    with open(spec_path) as f:
        spec = json.load(f)
    out = {}
    if 'fid' in spec:
        out['fid'] = fid(*spec['fid'])
    if 'kid' in spec:
        out['kid'] = kid(*spec['kid'])
    if 'pr' in spec:
        out['precision'], out['recall'] = pr(*spec['pr'])
    if 'is' in spec:
        out['is_mean'], out['is_std'] = inception_score(*spec['is'])
    if 'ppl' in spec:
        out['ppl'] = ppl_filter(spec['ppl'])
    print(json.dumps(out))


if __name__ == '__main__':
    if sys.argv[1] == 'features':
        features(*sys.argv[2:6])
    else:
        metrics(sys.argv[2])
