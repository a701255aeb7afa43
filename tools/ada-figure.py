#!/usr/bin/python3
"""Plots r_t = E[sign(D(real))] per tick against minutes of training for training runs, and augment_p (dashed), from their
log.jsonl files, as a PNG (Debian's python3-pil; no matplotlib needed).

Usage: tools/ada-figure.py OUT.png LABEL=RUN_DIR [LABEL=RUN_DIR ...]
"""
import json
import sys

from PIL import Image, ImageDraw

W, H, L, R, T, B = 720, 360, 60, 20, 30, 50
COLOURS = [(200, 60, 40), (40, 90, 200), (40, 150, 60)]


def main():
    out, runs = sys.argv[1], [a.split('=', 1) for a in sys.argv[2:]]
    series = []
    for label, run in runs:
        rows = [json.loads(l) for l in open(f'{run}/log.jsonl') if l.strip()]
        rows = [r for r in rows if 'rt' in r]
        series.append((label, [(r['totalSec'] / 60, r['rt'], r.get('augment_p', 0)) for r in rows]))
    kmax = max(k for _, s in series for k, _, _ in s) or 1
    img = Image.new('RGB', (W, H), 'white')
    d = ImageDraw.Draw(img)
    x = lambda k: L + (W - L - R) * k / kmax
    y = lambda v: T + (H - T - B) * (1 - v)  # r_t and p in [0, 1]
    d.rectangle([L, T, W - R, H - B], outline='black')
    for v in [0, 0.2, 0.4, 0.6, 0.8, 1.0]:
        d.line([L - 4, y(v), L, y(v)], fill='black')
        d.text((L - 34, y(v) - 6), f'{v:.1f}', fill='black')
    step = 5 if kmax > 20 else 2 if kmax > 8 else 1
    k = 0
    while k <= kmax:
        d.line([x(k), H - B, x(k), H - B + 4], fill='black')
        d.text((x(k) - 6, H - B + 8), str(k), fill='black')
        k += step
    d.line([L, y(0.6), W - R, y(0.6)], fill=(170, 170, 170))
    d.text((W - R - 90, y(0.6) - 14), 'ADA target 0.6', fill=(120, 120, 120))
    d.text((W // 2 - 50, H - 20), 'minutes of training', fill='black')
    d.text((L, 8), 'r_t = E[sign(D(real))] per tick (solid), augment p (dashed)', fill='black')
    for i, (label, s) in enumerate(series):
        c = COLOURS[i % len(COLOURS)]
        d.line([(x(k), y(rt)) for k, rt, _ in s], fill=c, width=2)
        if any(p > 0 for _, _, p in s):
            pts = [(x(k), y(p)) for k, _, p in s]
            for a, b in zip(pts[::2], pts[1::2]):
                d.line([a, b], fill=c, width=1)
        d.text((L + 10, T + 8 + 14 * i), f'-- {label}', fill=c)
    img.save(out)


main()
