#!/usr/bin/env python3
"""Independent PyTorch reference of the ADA augmentation maths, for the tests.

Reads a JSON list of cases on stdin, each {"shape": [N,C,H,W], "images": [...], "draws": {name: [per-image values]}} with the per-image
parameters (xflip, rotate90, xintX/Y in pixels, scale, rotatePre, aniso, rotatePost, xfracX/Y in pixels,
brightness, contrast, lumaflip, hue, saturation). Builds the inverse geometric matrix and the colour matrix with
torch in float64, runs the images through reflect padding, 2x upsampling with the normalised sym6 filter
(zero insertion + torch conv2d), torch.nn.functional.affine_grid/grid_sample, filtered 2x downsampling with the
crop, then the colour matrix. Prints a list of {"images": [...], "geom": [...], "color": [...]} as JSON.
"""
import json
import math
import sys

import torch
import torch.nn.functional as F

SYM6 = [0.015404109327027373, 0.0034907120842174702, -0.11799011114819057, -0.048311742585633, 0.4910559419267466,
        0.787641141030194, 0.3379294217276218, -0.07263752278646252, -0.021060292512300564, 0.04472490177066578,
        0.0017677118642428036, -0.007800708325034148]


def homog2(a, b, c, d, e, f):
    return torch.tensor([[a, b, c], [d, e, f], [0.0, 0.0, 1.0]], dtype=torch.float64)


def rot2(t):
    return homog2(math.cos(t), -math.sin(t), 0, math.sin(t), math.cos(t), 0)


def geometric(d, i):
    m = torch.eye(3, dtype=torch.float64)
    m = m @ torch.diag(torch.tensor([1.0 / (1 - 2 * d['xflip'][i]), 1.0, 1.0], dtype=torch.float64))
    m = m @ rot2(math.pi / 2 * d['rotate90'][i])
    m = m @ homog2(1, 0, -d['xintX'][i], 0, 1, -d['xintY'][i])
    s = d['scale'][i]
    m = m @ torch.diag(torch.tensor([1 / s, 1 / s, 1.0], dtype=torch.float64))
    m = m @ rot2(d['rotatePre'][i])
    a = d['aniso'][i]
    m = m @ torch.diag(torch.tensor([1 / a, a, 1.0], dtype=torch.float64))
    m = m @ rot2(d['rotatePost'][i])
    m = m @ homog2(1, 0, -d['xfracX'][i], 0, 1, -d['xfracY'][i])
    return m


def colour(d, i, channels):
    v = torch.tensor([1.0, 1.0, 1.0, 0.0], dtype=torch.float64) / math.sqrt(3)
    vv = torch.outer(v, v)
    eye = torch.eye(4, dtype=torch.float64)
    c = eye.clone()
    b = d['brightness'][i]
    t = eye.clone()
    t[:3, 3] = b
    c = t @ c
    k = d['contrast'][i]
    c = torch.diag(torch.tensor([k, k, k, 1.0], dtype=torch.float64)) @ c
    c = (eye - 2 * vv * d['lumaflip'][i]) @ c
    if channels > 1:
        # Rodrigues' rotation about the luma axis.
        th = d['hue'][i]
        kx = torch.zeros(4, 4, dtype=torch.float64)
        kx[0, 1], kx[0, 2], kx[1, 0], kx[1, 2], kx[2, 0], kx[2, 1] = -v[2], v[1], v[2], -v[0], -v[1], v[0]
        rot = eye + math.sin(th) * kx + (1 - math.cos(th)) * (kx @ kx)
        c = rot @ c
        s = d['saturation'][i]
        c = (vv + (eye - vv) * s) @ c
    return c


def fir(x, taps, stride):
    ch = x.shape[1]
    f = torch.tensor(taps, dtype=x.dtype)
    x = F.conv2d(x, f.view(1, 1, 1, -1).repeat(ch, 1, 1, 1), stride=(1, stride), groups=ch)
    return F.conv2d(x, f.view(1, 1, -1, 1).repeat(ch, 1, 1, 1), stride=(stride, 1), groups=ch)


def run(req):
    n, ch, h, w = req['shape']
    x = torch.tensor(req['images'], dtype=torch.float32).view(n, ch, h, w)
    d = req['draws']
    filt = torch.tensor(SYM6, dtype=torch.float64)
    filt = (filt / filt.sum()).tolist()
    hz = len(filt) // 4
    gs = [geometric(d, i) for i in range(n)]
    if not all(torch.equal(g, torch.eye(3, dtype=torch.float64)) for g in gs):
        cx, cy = (w - 1) / 2, (h - 1) / 2
        corners = torch.tensor([[-cx, -cy, 1], [cx, -cy, 1], [cx, cy, 1], [-cx, cy, 1]], dtype=torch.float64).t()
        pts = torch.stack([g @ corners for g in gs])[:, :2, :]  # [n, xy, corner]
        xy = pts.permute(1, 0, 2).reshape(2, -1)
        margin = torch.cat([-xy, xy]).max(dim=1).values
        margin = margin + torch.tensor([hz * 2 - cx, hz * 2 - cy] * 2, dtype=torch.float64)
        margin = torch.minimum(margin.clamp(min=0), torch.tensor([w - 1, h - 1] * 2, dtype=torch.float64))
        mx0, my0, mx1, my1 = [int(v) for v in margin.ceil()]
        y = F.pad(x, [mx0, mx1, my0, my1], mode='reflect')
        ph, pw = y.shape[2], y.shape[3]
        z = torch.zeros(n, ch, ph * 2, pw * 2)
        z[:, :, ::2, ::2] = y
        z = F.pad(z, [6, 5, 6, 5])
        up = fir(z, [t * 2 for t in reversed(filt)], 1)
        out_h, out_w = (h + 2 * hz) * 2, (w + 2 * hz) * 2
        thetas = []
        for g in gs:
            t = homog2(1, 0, (mx0 - mx1) / 2, 0, 1, (my0 - my1) / 2) @ g
            t = torch.diag(torch.tensor([2.0, 2.0, 1.0], dtype=torch.float64)) @ t @ torch.diag(torch.tensor([0.5, 0.5, 1.0], dtype=torch.float64))
            t = homog2(1, 0, -0.5, 0, 1, -0.5) @ t @ homog2(1, 0, 0.5, 0, 1, 0.5)
            t = homog2(2 / up.shape[3], 0, 0, 0, 2 / up.shape[2], 0) @ t @ homog2(out_w / 2, 0, 0, 0, out_h / 2, 0)
            thetas.append(t[:2])
        theta = torch.stack(thetas).float()
        grid = F.affine_grid(theta, [n, ch, out_h, out_w], align_corners=False)
        sampled = F.grid_sample(up, grid, mode='bilinear', padding_mode='zeros', align_corners=False)
        sampled = sampled[:, :, 1:-1, 1:-1]
        x = fir(sampled, filt, 2)
    cs = [colour(d, i, ch) for i in range(n)]
    if not all(torch.equal(c, torch.eye(4, dtype=torch.float64)) for c in cs):
        c = torch.stack(cs).float()
        flat = x.reshape(n, ch, h * w)
        if ch == 3:
            flat = c[:, :3, :3] @ flat + c[:, :3, 3:]
        else:
            m = c[:, :3, :].mean(dim=1, keepdim=True)
            flat = flat * m[:, :, :3].sum(dim=2, keepdim=True) + m[:, :, 3:]
        x = flat.reshape(n, ch, h, w)
    return {'images': x.flatten().tolist(), 'geom': [g.flatten().tolist() for g in gs],
            'color': [c.flatten().tolist() for c in cs]}


json.dump([run(req) for req in json.load(sys.stdin)], sys.stdout)
