"""StyleGAN1 (G_style = G_mapping + G_synthesis, D_basic) and ProGAN (G_paper, D_paper) in PyTorch.

Written from scratch from the architecture facts in docs/reference-stylegan-progan.md (sections (b), (c));
it is the peer that stylegan-ts's benchmarks compare against, so every op follows the official TF graphs:

  * equalized learning rate: weights stored N(0, 1/lrmul), scaled at run time by lrmul * gain / sqrt(fan_in)
    (gain sqrt(2) by default, 1 for ToRGB, StyleMod and the last D dense); biases stored 0, scaled by lrmul;
  * leaky ReLU 0.2 with NO output gain (sqrt(2) only enters through the He scale);
  * nearest-neighbour upscale, 2x2 box downscale, blur [1,2,1]x[1,2,1]/16 (StyleGAN only);
  * fused up/down convolutions with the padded-and-summed 4x4 kernel: StyleGAN at output res >= 128 (G) and
    input res >= 128 (D), ProGAN at every resolution;
  * StyleGAN G layer: conv [-> blur for Conv0_up] -> noise * per-channel strength -> bias -> lrelu ->
    instance norm -> x * (style_scale + 1) + style_bias, style = dense(w) with gain 1;
  * ProGAN G layer: conv -> bias -> lrelu -> pixel norm;
  * D: FromRGB, per block Conv0 + Conv1_down (StyleGAN blurs before it), then at 4x4 minibatch stddev
    (group 4, 1 feature), Conv 3x3 (C+1 -> C), Dense0 (16C -> C), Dense1 (C -> 1, gain 1).

Networks are fully grown (lod 0): the `lod` variables exist for parity with the official variable lists,
fade-in is not implemented. Layout: conv weights are stored OIHW (TF stores HWIO; see `tf_variables`).

Module and parameter names follow the TF variable names, so `tf_variables` lists e.g.
'G_synthesis/64x64/Conv0_up/StyleMod/weight [512, 512]' exactly as docs/variables-stylegan1-1024.txt.

CLI: `--counts` prints the trainable parameter counts (exit 1 if the 1024 defaults do not match the
official totals), `--variables` prints every TF-named variable with its TF shape, `--check-variables DIR`
compares them with DIR/variables-{stylegan1,progan}-1024.txt.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

SQRT2 = math.sqrt(2.0)
LRELU_SLOPE = 0.2

# Official totals at 1024x1024 with the default (FFHQ / CelebA-HQ) configuration.
OFFICIAL_COUNTS_1024 = {
    'stylegan_G': 26_219_627,
    'stylegan_G_mapping': 2_101_248,
    'stylegan_G_synthesis': 24_118_379,
    'stylegan_D': 23_087_249,
    'progan_G': 23_079_115,
    'progan_D': 23_087_249,
}


# ----------------------------------------------------------------------------------------------------------
# Primitive ops (parameter-free).

def lrelu(x: torch.Tensor) -> torch.Tensor:
    """Leaky ReLU 0.2, no output gain."""
    return F.leaky_relu(x, LRELU_SLOPE)


def pixel_norm(x: torch.Tensor, epsilon: float = 1e-8) -> torch.Tensor:
    """x / sqrt(mean over channels (dim 1) of x^2 + eps)."""
    return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + epsilon)


def instance_norm(x: torch.Tensor, epsilon: float = 1e-8) -> torch.Tensor:
    """Per sample and channel: (x - mean_hw) / sqrt(mean_hw((x - mean)^2) + eps)."""
    x = x - x.mean(dim=(2, 3), keepdim=True)
    return x * torch.rsqrt(x.square().mean(dim=(2, 3), keepdim=True) + epsilon)


def upscale2d(x: torch.Tensor) -> torch.Tensor:
    """Nearest-neighbour 2x upsampling."""
    return F.interpolate(x, scale_factor=2.0, mode='nearest')


def downscale2d(x: torch.Tensor) -> torch.Tensor:
    """2x2 box mean."""
    return F.avg_pool2d(x, 2)


_blur_kernels: dict[tuple, torch.Tensor] = {}


def blur2d(x: torch.Tensor) -> torch.Tensor:
    """Depthwise [1,2,1] x [1,2,1] / 16 filter, SAME padding."""
    channels = x.shape[1]
    key = (x.device, x.dtype, channels)
    kernel = _blur_kernels.get(key)
    if kernel is None:
        taps = torch.tensor([1.0, 2.0, 1.0], dtype=x.dtype, device=x.device)
        kernel = (taps[:, None] * taps[None, :] / 16.0).expand(channels, 1, 3, 3).contiguous()
        _blur_kernels[key] = kernel
    return F.conv2d(x, kernel, padding=1, groups=channels)


def fused_kernel(weight: torch.Tensor) -> torch.Tensor:
    """3x3 OIHW kernel -> padded, shift-summed 4x4 kernel of the fused up/down convolutions."""
    w = F.pad(weight, [1, 1, 1, 1])
    return w[:, :, 1:, 1:] + w[:, :, :-1, 1:] + w[:, :, 1:, :-1] + w[:, :, :-1, :-1]


def conv2d_resample(x: torch.Tensor, weight: torch.Tensor, resample: str | None, fused: bool) -> torch.Tensor:
    """Convolution with an already scaled OIHW weight; resample None, 'up' (upscale then conv) or 'down'
    (conv then downscale). Fused: one transposed conv (up) / one strided conv (down) with the 4x4 kernel."""
    padding = weight.shape[-1] // 2
    if resample is None:
        return F.conv2d(x, weight, padding=padding)
    if resample == 'up':
        if fused:
            # TF conv2d_transpose(stride 2, SAME) == torch conv_transpose2d(stride 2, padding 1), weight IOHW.
            # Note: this equals nearest upscale + conv with the kernel flipped in H and W, not `weight` itself
            # (transposed convolution is the adjoint of correlation); official weights were trained with it.
            return F.conv_transpose2d(x, fused_kernel(weight).transpose(0, 1), stride=2, padding=1)
        return F.conv2d(upscale2d(x), weight, padding=padding)
    if resample == 'down':
        if fused:  # TF conv2d(stride 2, SAME) on an even size pads 1 on each side
            return F.conv2d(x, fused_kernel(weight) * 0.25, stride=2, padding=1)
        return downscale2d(F.conv2d(x, weight, padding=padding))
    raise ValueError(f"conv2d_resample: resample must be None, 'up' or 'down', got {resample!r}")


def minibatch_stddev(x: torch.Tensor, group_size: int = 4, num_new_features: int = 1) -> torch.Tensor:
    """Append the stddev over groups of samples, averaged over (C/n, H, W), as n extra channels."""
    n, c, h, w = x.shape
    group = min(group_size, n)
    if n % group != 0:
        raise ValueError(f'minibatch_stddev: batch {n} is not divisible by the group size {group}')
    f = num_new_features
    y = x.reshape(group, -1, f, c // f, h, w)
    y = y - y.mean(dim=0, keepdim=True)
    y = torch.sqrt(y.square().mean(dim=0) + 1e-8)  # [M, f, C/f, H, W]
    y = y.mean(dim=(2, 3, 4))  # [M, f]
    y = y.reshape(-1, f, 1, 1).repeat(group, 1, h, w)  # sample g*M + m gets y[m]
    return torch.cat([x, y], dim=1)


# ----------------------------------------------------------------------------------------------------------
# Layers with equalized-learning-rate parameters. Shapes in PyTorch layout; `tf_shape` gives TF's.

def he_weight(module: nn.Module, name: str, shape: list[int], fan_in: int, gain: float, lrmul: float) -> None:
    """Register `name` as a weight stored N(0, 1/lrmul) with run-time scale `<name>_coef`."""
    module.register_parameter(name, nn.Parameter(torch.randn(shape) / lrmul))
    setattr(module, name + '_coef', gain / math.sqrt(fan_in) * lrmul)


def scaled(param: torch.Tensor, coef: float) -> torch.Tensor:
    return param if coef == 1.0 else param * coef


class Dense(nn.Module):
    """Fully connected layer, weight [out, in] (TF [in, out]), optional bias [out]."""

    def __init__(self, in_features: int, out_features: int, gain: float = SQRT2, lrmul: float = 1.0,
                 use_bias: bool = True):
        super().__init__()
        he_weight(self, 'weight', [out_features, in_features], in_features, gain, lrmul)
        self.bias = nn.Parameter(torch.zeros(out_features)) if use_bias else None
        self.lrmul = lrmul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = None if self.bias is None else scaled(self.bias, self.lrmul)
        return F.linear(x, self.weight * self.weight_coef, bias)

    def tf_shape(self, name: str, shape: list[int]) -> list[int]:
        return shape[::-1] if name == 'weight' else shape


class Conv2d(nn.Module):
    """kxk convolution (+ optional resampling) + bias (+ lrelu) (+ pixel norm): D layers, ProGAN G layers,
    ToRGB / FromRGB. `tf_out_in` marks ProGAN's fused up-conv, whose TF weight is [k, k, Cout, Cin]."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, gain: float = SQRT2,
                 resample: str | None = None, fused: bool = False, activation: bool = True,
                 use_pixel_norm: bool = False, tf_out_in: bool = False):
        super().__init__()
        he_weight(self, 'weight', [out_channels, in_channels, kernel, kernel], kernel * kernel * in_channels, gain, 1.0)
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.resample, self.fused = resample, fused
        self.activation, self.use_pixel_norm, self.tf_out_in = activation, use_pixel_norm, tf_out_in

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = conv2d_resample(x, self.weight * self.weight_coef, self.resample, self.fused)
        x = x + self.bias.view(1, -1, 1, 1)
        if self.activation:
            x = lrelu(x)
        return pixel_norm(x) if self.use_pixel_norm else x

    def tf_shape(self, name: str, shape: list[int]) -> list[int]:
        if name != 'weight':
            return shape
        o, i, kh, kw = shape
        return [kh, kw, o, i] if self.tf_out_in else [kh, kw, i, o]


class NoiseStrength(nn.Module):
    """Learned per-channel strength (init 0) of a single-channel N(0,1) noise map: x + noise * weight[c]."""

    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return x + noise * self.weight.view(1, -1, 1, 1)


class StyleMod(Dense):
    """AdaIN style: dense(w) -> [scale, bias] per channel (gain 1); x * (scale + 1) + bias."""

    def __init__(self, dlatent_size: int, channels: int):
        super().__init__(dlatent_size, channels * 2, gain=1.0)

    def forward(self, x: torch.Tensor, dlatent: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        style = super().forward(dlatent).view(x.shape[0], 2, x.shape[1], 1, 1)
        return x * (style[:, 0] + 1.0) + style[:, 1]


# ----------------------------------------------------------------------------------------------------------
# StyleGAN1 generator.

def nf_for(fmap_base: int, fmap_decay: float, fmap_max: int):
    """Feature maps of stage s (s = log2(res) - 1): min(fmap_base / 2^(s * decay), fmap_max)."""
    return lambda stage: min(int(fmap_base / (2.0 ** (stage * fmap_decay))), fmap_max)


def log2_resolution(resolution: int) -> int:
    r = int(round(math.log2(resolution))) if resolution > 0 else 0
    if resolution < 4 or 2 ** r != resolution:
        raise ValueError(f'resolution must be a power of two >= 4, got {resolution}')
    return r


class GMapping(nn.Module):
    """z -> pixel norm -> `mapping_layers` x (dense, lrmul 0.01, + bias, lrelu) -> w broadcast to every layer."""

    def __init__(self, latent_size: int = 512, dlatent_size: int = 512, dlatent_broadcast: int = 18,
                 mapping_layers: int = 8, mapping_fmaps: int = 512, mapping_lrmul: float = 0.01):
        super().__init__()
        self.dlatent_broadcast = dlatent_broadcast
        self.layers = []
        for i in range(mapping_layers):
            fmaps_in = latent_size if i == 0 else mapping_fmaps
            fmaps_out = dlatent_size if i == mapping_layers - 1 else mapping_fmaps
            layer = Dense(fmaps_in, fmaps_out, gain=SQRT2, lrmul=mapping_lrmul)
            self.add_module(f'Dense{i}', layer)
            self.layers.append(layer)

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        x = pixel_norm(latents)
        for layer in self.layers:
            x = lrelu(layer(x))
        return x.unsqueeze(1).expand(-1, self.dlatent_broadcast, -1)  # [N, num_layers, dlatent_size]


class StyleLayer(nn.Module):
    """One synthesis layer: (const | conv | upscale-conv + blur), then the layer epilogue."""

    def __init__(self, kind: str, in_channels: int, channels: int, dlatent_size: int, fused: bool = False):
        super().__init__()
        self.kind, self.fused = kind, fused
        if kind == 'const':
            self.const = nn.Parameter(torch.ones(1, channels, 4, 4))
        else:
            he_weight(self, 'weight', [channels, in_channels, 3, 3], 9 * in_channels, SQRT2, 1.0)
        self.Noise = NoiseStrength(channels)
        self.bias = nn.Parameter(torch.zeros(channels))
        self.StyleMod = StyleMod(dlatent_size, channels)

    def forward(self, x: torch.Tensor | None, dlatent: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        if self.kind == 'const':
            x = self.const.expand(dlatent.shape[0], -1, -1, -1)
        elif self.kind == 'up':
            x = blur2d(conv2d_resample(x, self.weight * self.weight_coef, 'up', self.fused))
        else:
            x = conv2d_resample(x, self.weight * self.weight_coef, None, False)
        x = self.Noise(x, noise)
        x = lrelu(x + self.bias.view(1, -1, 1, 1))
        return self.StyleMod(instance_norm(x), dlatent)

    def tf_shape(self, name: str, shape: list[int]) -> list[int]:
        return [shape[2], shape[3], shape[1], shape[0]] if name == 'weight' else shape


class GSynthesis(nn.Module):
    """Learned const 4x4 -> per resolution (Conv0_up, Conv1) -> ToRGB (1x1, gain 1, linear)."""

    def __init__(self, resolution: int = 1024, num_channels: int = 3, dlatent_size: int = 512,
                 fmap_base: int = 8192, fmap_decay: float = 1.0, fmap_max: int = 512, randomize_noise: bool = True):
        super().__init__()
        res_log2 = log2_resolution(resolution)
        nf = nf_for(fmap_base, fmap_decay, fmap_max)
        self.num_layers = res_log2 * 2 - 2
        self.randomize_noise = randomize_noise
        self.register_buffer('lod', torch.zeros(()))
        for i in range(self.num_layers):
            size = 2 ** (i // 2 + 2)
            self.register_buffer(f'noise{i}', torch.randn(1, 1, size, size))
        self.layers: list[StyleLayer] = []
        for r in range(2, res_log2 + 1):
            block = nn.Module()
            if r == 2:
                first = StyleLayer('const', 0, nf(1), dlatent_size)
                second = StyleLayer('conv', nf(1), nf(1), dlatent_size)
                block.add_module('Const', first)
                block.add_module('Conv', second)
            else:
                first = StyleLayer('up', nf(r - 2), nf(r - 1), dlatent_size, fused=2 ** r >= 128)
                second = StyleLayer('conv', nf(r - 1), nf(r - 1), dlatent_size)
                block.add_module('Conv0_up', first)
                block.add_module('Conv1', second)
            self.add_module(f'{2 ** r}x{2 ** r}', block)
            self.layers += [first, second]
            # ToRGB of every resolution exists (fade-in); the fully grown net outputs through ToRGB_lod0.
            self.add_module(f'ToRGB_lod{res_log2 - r}', Conv2d(nf(r - 1), num_channels, 1, gain=1.0, activation=False))

    def forward(self, dlatents: torch.Tensor) -> torch.Tensor:
        x = None
        n = dlatents.shape[0]
        for i, layer in enumerate(self.layers):
            stored = getattr(self, f'noise{i}')
            noise = torch.randn(n, 1, *stored.shape[2:], device=dlatents.device) if self.randomize_noise else stored
            x = layer(x, dlatents[:, i], noise)
        return getattr(self, 'ToRGB_lod0')(x)


class GStyle(nn.Module):
    """G_style: mapping, then (training) dlatent_avg tracking and style mixing or (inference) truncation,
    then synthesis. `forward(latents)` maps z [N, latent_size] to images [N, C, res, res] in about [-1, 1]."""

    def __init__(self, resolution: int = 1024, num_channels: int = 3, latent_size: int = 512,
                 dlatent_size: int = 512, mapping_layers: int = 8, mapping_fmaps: int = 512,
                 mapping_lrmul: float = 0.01, fmap_base: int = 8192, fmap_decay: float = 1.0, fmap_max: int = 512,
                 truncation_psi: float = 0.7, truncation_cutoff: int = 8, dlatent_avg_beta: float = 0.995,
                 style_mixing_prob: float = 0.9, randomize_noise: bool = True):
        super().__init__()
        self.synthesis = GSynthesis(resolution, num_channels, dlatent_size, fmap_base, fmap_decay, fmap_max,
                                    randomize_noise)
        self.num_layers = self.synthesis.num_layers
        self.mapping = GMapping(latent_size, dlatent_size, self.num_layers, mapping_layers, mapping_fmaps,
                                mapping_lrmul)
        self.latent_size = latent_size
        self.truncation_psi, self.truncation_cutoff = truncation_psi, truncation_cutoff
        self.dlatent_avg_beta, self.style_mixing_prob = dlatent_avg_beta, style_mixing_prob
        self.register_buffer('lod', torch.zeros(()))
        self.register_buffer('dlatent_avg', torch.zeros(dlatent_size))

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        dlatents = self.mapping(latents)
        layer_idx = torch.arange(self.num_layers, device=latents.device).view(1, -1, 1)
        if self.training:
            with torch.no_grad():  # dlatent_avg <- lerp(batch mean of w, dlatent_avg, beta)
                batch_avg = dlatents[:, 0].mean(dim=0)
                self.dlatent_avg.copy_(batch_avg + (self.dlatent_avg - batch_avg) * self.dlatent_avg_beta)
            if self.style_mixing_prob > 0:  # one crossover per minibatch, decided on the device (no sync)
                dlatents2 = self.mapping(torch.randn_like(latents))
                device = latents.device
                mix = torch.rand((), device=device) < self.style_mixing_prob
                crossover = torch.randint(1, self.num_layers, (), device=device)
                cutoff = torch.where(mix, crossover, torch.full((), self.num_layers, dtype=torch.long, device=device))
                dlatents = torch.where(layer_idx < cutoff, dlatents, dlatents2)
        elif self.truncation_psi != 1.0 and self.truncation_cutoff > 0:  # w' = avg + (w - avg) * psi, layers < cutoff
            coefs = 1.0 + (self.truncation_psi - 1.0) * (layer_idx < self.truncation_cutoff).to(dlatents.dtype)
            dlatents = self.dlatent_avg + (dlatents - self.dlatent_avg) * coefs
        return self.synthesis(dlatents)


# ----------------------------------------------------------------------------------------------------------
# ProGAN generator.

class ProGANLatentToImage(nn.Module):
    """pixel norm(z) -> Dense [latent, 16 C] (gain sqrt(2)/4) -> reshape [C, 4, 4] -> bias -> lrelu -> pixel norm."""

    def __init__(self, latent_size: int, channels: int):
        super().__init__()
        he_weight(self, 'weight', [channels * 16, latent_size], latent_size, SQRT2 / 4, 1.0)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        x = F.linear(pixel_norm(latents), self.weight * self.weight_coef)
        x = x.view(latents.shape[0], -1, 4, 4) + self.bias.view(1, -1, 1, 1)
        return pixel_norm(lrelu(x))

    def tf_shape(self, name: str, shape: list[int]) -> list[int]:
        return shape[::-1] if name == 'weight' else shape


class GPaper(nn.Module):
    """ProGAN G_paper: latent -> 4x4 (Dense, Conv) -> per resolution (fused Conv0_up, Conv1), pixel norm after
    every layer -> ToRGB (1x1, gain 1, linear). `forward(latents)` -> images [N, C, res, res]."""

    def __init__(self, resolution: int = 1024, num_channels: int = 3, latent_size: int | None = None,
                 fmap_base: int = 8192, fmap_decay: float = 1.0, fmap_max: int = 512):
        super().__init__()
        res_log2 = log2_resolution(resolution)
        nf = nf_for(fmap_base, fmap_decay, fmap_max)
        self.latent_size = nf(0) if latent_size is None else latent_size
        self.register_buffer('lod', torch.zeros(()))
        self.blocks: list[nn.Module] = []
        for r in range(2, res_log2 + 1):
            block = nn.Sequential()
            if r == 2:
                block.add_module('Dense', ProGANLatentToImage(self.latent_size, nf(1)))
                block.add_module('Conv', Conv2d(nf(1), nf(1), 3, use_pixel_norm=True))
            else:
                block.add_module('Conv0_up', Conv2d(nf(r - 2), nf(r - 1), 3, resample='up', fused=True,
                                                    use_pixel_norm=True, tf_out_in=True))
                block.add_module('Conv1', Conv2d(nf(r - 1), nf(r - 1), 3, use_pixel_norm=True))
            self.add_module(f'{2 ** r}x{2 ** r}', block)
            self.blocks.append(block)
            self.add_module(f'ToRGB_lod{res_log2 - r}', Conv2d(nf(r - 1), num_channels, 1, gain=1.0, activation=False))

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        x = latents
        for block in self.blocks:
            x = block(x)
        return getattr(self, 'ToRGB_lod0')(x)


# ----------------------------------------------------------------------------------------------------------
# Discriminator: D_basic (StyleGAN: blur, fused at res >= 128) and D_paper (ProGAN: no blur, always fused).

class DBlock(nn.Module):
    """Conv0 (3x3) then [blur] Conv1_down (3x3 + 2x downscale), each + bias + lrelu."""

    def __init__(self, in_channels: int, out_channels: int, blur: bool, fused: bool):
        super().__init__()
        self.Conv0 = Conv2d(in_channels, in_channels, 3)
        self.Conv1_down = Conv2d(in_channels, out_channels, 3, resample='down', fused=fused)
        self.blur = blur

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.Conv0(x)
        return self.Conv1_down(blur2d(x) if self.blur else x)


class DEpilogue(nn.Module):
    """4x4: minibatch stddev -> Conv 3x3 (C+1 -> C) -> Dense0 (16 C -> C) -> Dense1 (C -> 1, gain 1, linear)."""

    def __init__(self, channels: int, dense_fmaps: int, mbstd_group_size: int, mbstd_num_features: int):
        super().__init__()
        self.mbstd_group_size, self.mbstd_num_features = mbstd_group_size, mbstd_num_features
        conv_in = channels + (mbstd_num_features if mbstd_group_size > 1 else 0)
        self.Conv = Conv2d(conv_in, channels, 3)
        self.Dense0 = Dense(channels * 16, dense_fmaps)
        self.Dense1 = Dense(dense_fmaps, 1, gain=1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mbstd_group_size > 1:
            x = minibatch_stddev(x, self.mbstd_group_size, self.mbstd_num_features)
        x = self.Conv(x)
        x = lrelu(self.Dense0(x.flatten(1)))
        return self.Dense1(x)


class Discriminator(nn.Module):
    """FromRGB (1x1 + lrelu) at full resolution -> DBlocks down to 4x4 -> DEpilogue. Output scores [N, 1].
    style='stylegan' is D_basic, style='progan' is D_paper."""

    def __init__(self, resolution: int = 1024, num_channels: int = 3, fmap_base: int = 8192,
                 fmap_decay: float = 1.0, fmap_max: int = 512, mbstd_group_size: int = 4,
                 mbstd_num_features: int = 1, style: str = 'stylegan'):
        super().__init__()
        if style not in ('stylegan', 'progan'):
            raise ValueError(f"Discriminator: style must be 'stylegan' or 'progan', got {style!r}")
        res_log2 = log2_resolution(resolution)
        nf = nf_for(fmap_base, fmap_decay, fmap_max)
        self.register_buffer('lod', torch.zeros(()))
        self.add_module('FromRGB_lod0', Conv2d(num_channels, nf(res_log2 - 1), 1))
        self.blocks: list[nn.Module] = []
        for r in range(res_log2, 2, -1):
            fused = True if style == 'progan' else 2 ** r >= 128
            block = DBlock(nf(r - 1), nf(r - 2), blur=style == 'stylegan', fused=fused)
            self.add_module(f'{2 ** r}x{2 ** r}', block)
            self.blocks.append(block)
            # FromRGB of the next lower resolution: used only during fade-in, kept for the official variables.
            self.add_module(f'FromRGB_lod{res_log2 - r + 1}', Conv2d(num_channels, nf(r - 2), 1))
        self.add_module('4x4', DEpilogue(nf(1), nf(0), mbstd_group_size, mbstd_num_features))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = getattr(self, 'FromRGB_lod0')(images)
        for block in self.blocks:
            x = block(x)
        return getattr(self, '4x4')(x)


# ----------------------------------------------------------------------------------------------------------
# Counting and TF-named variable listing.

def trainable_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def tf_variables(module: nn.Module, prefix_map: dict[str, str] | None = None) -> list[tuple[str, list[int]]]:
    """(TF name, TF shape) of every parameter and buffer (buffers = TF non-trainables: lod, noise{i},
    dlatent_avg), in registration order. `prefix_map` renames top-level children (mapping -> G_mapping)."""
    out = []
    for mod_name, mod in module.named_modules():
        entries = list(mod.named_parameters(recurse=False)) + list(mod.named_buffers(recurse=False))
        for name, tensor in entries:
            shape = list(tensor.shape)
            if hasattr(mod, 'tf_shape'):
                shape = mod.tf_shape(name, shape)
            path = [part for part in mod_name.split('.') if part] + [name]
            if prefix_map and len(path) > 1 and path[0] in prefix_map:
                path[0] = prefix_map[path[0]]
            out.append(('/'.join(path), shape))
    return out


STYLEGAN_G_PREFIX = {'mapping': 'G_mapping', 'synthesis': 'G_synthesis'}


def official_networks(resolution: int = 1024) -> dict[str, nn.Module]:
    """The four official networks with the default configuration at `resolution`."""
    return {
        'stylegan_G': GStyle(resolution=resolution),
        'stylegan_D': Discriminator(resolution=resolution, style='stylegan'),
        'progan_G': GPaper(resolution=resolution),
        'progan_D': Discriminator(resolution=resolution, style='progan'),
    }


def parameter_counts(nets: dict[str, nn.Module]) -> dict[str, int]:
    g = nets['stylegan_G']
    return {
        'stylegan_G': trainable_count(g),
        'stylegan_G_mapping': trainable_count(g.mapping),
        'stylegan_G_synthesis': trainable_count(g.synthesis),
        'stylegan_D': trainable_count(nets['stylegan_D']),
        'progan_G': trainable_count(nets['progan_G']),
        'progan_D': trainable_count(nets['progan_D']),
    }


_VAR_LINE = re.compile(r'^(?:([GD]) )?(\S+) \[([0-9, ]*)\]$')
_OWN_VAR = re.compile(r"\('([^']+)', \[([0-9, ]*)\]\)")


def _shape(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split(',') if v.strip())


def read_variable_list(path: Path) -> dict[str, set[tuple[str, tuple[int, ...]]]]:
    """Parse docs/variables-*-1024.txt into {'G': {(name, shape)}, 'D': {...}}. Lines are
    '[G|D ]name [d0, d1, ...]'; in the StyleGAN file G comes before the '--- D' line, D after it, and
    G_style's own variables sit on the 'G_style own: [...]' line."""
    if not path.is_file():
        raise FileNotFoundError(f'{path}: variable list not found')
    nets: dict[str, set] = {'G': set(), 'D': set()}
    section = 'G'
    for line_no, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if line.startswith('--- D'):
            section = 'D'
        elif line.startswith('G_style own:'):
            nets['G'].update((name, _shape(dims)) for name, dims in _OWN_VAR.findall(line))
        elif line.endswith(']') and not line.startswith(('ProGAN ', 'mapping ', 'D params')):
            m = _VAR_LINE.match(line)
            if not m:
                raise ValueError(f'{path}:{line_no}: cannot parse variable line {line!r}')
            nets[m.group(1) or section].add((m.group(2), _shape(m.group(3))))
    return nets


def check_variables(docs_dir: Path) -> dict:
    """Compare our TF-named variables at 1024 with the official lists; returns missing / extra per net."""
    nets = official_networks(1024)
    ours = {
        'stylegan_G': tf_variables(nets['stylegan_G'], STYLEGAN_G_PREFIX),
        'stylegan_D': tf_variables(nets['stylegan_D']),
        'progan_G': tf_variables(nets['progan_G']),
        'progan_D': tf_variables(nets['progan_D']),
    }
    official = {}
    sg = read_variable_list(docs_dir / 'variables-stylegan1-1024.txt')
    pg = read_variable_list(docs_dir / 'variables-progan-1024.txt')
    official.update({'stylegan_G': sg['G'], 'stylegan_D': sg['D'], 'progan_G': pg['G'], 'progan_D': pg['D']})
    report = {}
    for key, listing in ours.items():
        mine = {(name, tuple(shape)) for name, shape in listing}
        report[key] = {
            'official': len(official[key]),
            'ours': len(mine),
            'missing': sorted(f'{n} {list(s)}' for n, s in official[key] - mine),
            'extra': sorted(f'{n} {list(s)}' for n, s in mine - official[key]),
        }
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--counts', action='store_true', help='print trainable parameter counts as JSON')
    parser.add_argument('--variables', action='store_true', help='print every TF-named variable and shape')
    parser.add_argument('--check-variables', metavar='DIR', type=Path,
                        help='compare with DIR/variables-stylegan1-1024.txt and DIR/variables-progan-1024.txt')
    parser.add_argument('--resolution', type=int, default=1024, help='resolution for --counts / --variables')
    args = parser.parse_args(argv)
    if not (args.counts or args.variables or args.check_variables):
        parser.error('nothing to do: give --counts, --variables or --check-variables DIR')
    try:
        nets = official_networks(args.resolution)
    except ValueError as err:
        parser.error(str(err))
    result: dict = {'resolution': args.resolution}
    ok = True
    if args.counts:
        counts = parameter_counts(nets)
        result['counts'] = counts
        if args.resolution == 1024:
            result['official_1024'] = OFFICIAL_COUNTS_1024
            result['counts_match'] = counts == OFFICIAL_COUNTS_1024
            ok = ok and result['counts_match']
    if args.variables:
        result['variables'] = {
            key: [f'{name} {shape}' for name, shape in
                  tf_variables(net, STYLEGAN_G_PREFIX if key == 'stylegan_G' else None)]
            for key, net in nets.items()
        }
    if args.check_variables:
        report = check_variables(args.check_variables)
        result['variables_check'] = report
        result['variables_match'] = all(not r['missing'] and not r['extra'] for r in report.values())
        ok = ok and result['variables_match']
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write('\n')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
