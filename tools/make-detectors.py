#!/usr/bin/python3
"""Writes small TorchScript stand-ins for NVIDIA's metric detectors (run with Debian's /usr/bin/python3 + torch).

    /usr/bin/python3 tools/make-detectors.py [output-dir]     # default test/fixtures/detectors

NVIDIA's inception-2015-12-05.pt (FID, KID, IS) and vgg16.pt (precision/recall, LPIPS for PPL and projection) are
large and cannot be downloaded here. These stand-ins are small seeded random conv nets, scripted with torch.jit, that
take the same calls as the real files:

- inception-standin.pt: forward(img, return_features=False, use_fp16=False, no_output_bias=False).
  img is [N, 3, H, W] uint8 (or float) in 0..255, any size (resized bilinearly to 32x32 inside).
  return_features=True gives pool features [N, 2048]; otherwise softmax probabilities [N, 1008] (no_output_bias
  drops the output layer's bias, as the IS metric calls it).
- vgg16-standin.pt: forward(img, resize_images=True, return_lpips=False, return_features=False).
  img is [N, 3, H, W] in 0..255; resize_images resizes to 64x64 with area interpolation (the real one: 224x224).
  return_features=True gives [N, 64] features; return_lpips=True gives per-layer channel-normalised activations,
  weighted and flattened, so that (a - b).square().sum(1) is the LPIPS distance; otherwise the features too.
"""
import os
import sys

import torch
import torch.nn.functional as F


class InceptionStandIn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 16, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.pool_fc = torch.nn.Linear(32, 2048)
        self.bottleneck = torch.nn.Linear(2048, 16, bias=False)  # keeps the file small (the real output is 2048 → 1008)
        self.output = torch.nn.Linear(16, 1008)

    def forward(self, img: torch.Tensor, return_features: bool = False, use_fp16: bool = False,
                no_output_bias: bool = False) -> torch.Tensor:
        assert img.shape[1] == 3
        x = img.to(torch.float32)
        x = F.interpolate(x, size=(32, 32), mode='bilinear', align_corners=False)
        x = (x - 128.0) / 128.0
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = x.mean([2, 3])
        features = F.relu(self.pool_fc(x))
        if return_features:
            return features
        h = self.bottleneck(features)
        if no_output_bias:
            logits = F.linear(h, self.output.weight)
        else:
            logits = self.output(h)
        return F.softmax(logits, dim=1)


class VGG16StandIn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(8, 16, 3, padding=1)
        self.conv3 = torch.nn.Conv2d(16, 32, 3, padding=1)
        self.fc = torch.nn.Linear(32, 64)
        self.register_buffer('lpips_w1', torch.rand(8))
        self.register_buffer('lpips_w2', torch.rand(16))
        self.register_buffer('lpips_w3', torch.rand(32))

    def forward(self, img: torch.Tensor, resize_images: bool = True, return_lpips: bool = False,
                return_features: bool = False) -> torch.Tensor:
        x = img.to(torch.float32)
        if resize_images:
            x = F.interpolate(x, size=(64, 64), mode='area')
        x = (x - 127.5) / 127.5
        h1 = F.relu(self.conv1(x))
        h2 = F.relu(self.conv2(F.avg_pool2d(h1, 2)))
        h3 = F.relu(self.conv3(F.avg_pool2d(h2, 2)))
        features = self.fc(h3.mean([2, 3]))
        if return_lpips and not return_features:
            parts = []
            for h, w in [(h1, self.lpips_w1), (h2, self.lpips_w2), (h3, self.lpips_w3)]:
                n = h / (h.square().sum(1, keepdim=True).sqrt() + 1e-10)
                n = n * w.sqrt().reshape(1, -1, 1, 1) / (h.shape[2] * h.shape[3]) ** 0.5
                parts.append(n.flatten(1))
            return torch.cat(parts, 1)
        return features


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'detectors')
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(2015)
    torch.jit.script(InceptionStandIn().eval()).save(os.path.join(out, 'inception-standin.pt'))
    torch.manual_seed(16)
    torch.jit.script(VGG16StandIn().eval()).save(os.path.join(out, 'vgg16-standin.pt'))
    print(out)


if __name__ == '__main__':
    main()
