"""Self-tests of the PyTorch peer networks: /usr/bin/python3 -m unittest discover -s bench/py -p 'test_*.py'

Reference values are computed independently (naive loops, the official totals, the official variable lists).
"""
from __future__ import annotations

import math
import sys
import tempfile
import unittest
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stylegan_nets as sn  # noqa: E402

SHARED_DOCS = Path(__file__).resolve().parents[2] / 'test' / 'fixtures' / 'variables'


class Counts(unittest.TestCase):
    def test_official_totals_at_1024(self):
        self.assertEqual(sn.parameter_counts(sn.official_networks(1024)), {
            'stylegan_G': 26_219_627, 'stylegan_G_mapping': 2_101_248, 'stylegan_G_synthesis': 24_118_379,
            'stylegan_D': 23_087_249, 'progan_G': 23_079_115, 'progan_D': 23_087_249})

    def test_every_variable_name_and_shape_matches(self):
        report = sn.check_variables(SHARED_DOCS)
        for net, r in report.items():
            self.assertEqual((r['missing'], r['extra']), ([], []), net)
            self.assertEqual(r['official'], r['ours'], net)

    def test_names_are_unique_and_tf_shaped(self):
        listing = dict(sn.tf_variables(sn.GPaper(resolution=16)))
        self.assertEqual(listing['16x16/Conv0_up/weight'], [3, 3, 512, 512])
        g = sn.GPaper(resolution=16, fmap_base=64, fmap_max=64)  # nf: 32 at 4x4, 16 at 8x8, 8 at 16x16
        listing = dict(sn.tf_variables(g))
        self.assertEqual(listing['16x16/Conv0_up/weight'], [3, 3, 8, 16])  # ProGAN: [k, k, Cout, Cin]
        self.assertEqual(listing['4x4/Dense/weight'], [64, 32 * 16])  # latent = nf(0) = 64
        style = dict(sn.tf_variables(sn.GStyle(resolution=16, fmap_base=64, fmap_max=64), sn.STYLEGAN_G_PREFIX))
        self.assertEqual(style['G_synthesis/16x16/Conv0_up/weight'], [3, 3, 16, 8])  # StyleGAN: [k, k, Cin, Cout]
        self.assertEqual(style['G_synthesis/16x16/Conv0_up/StyleMod/weight'], [512, 16])
        self.assertEqual(style['G_mapping/Dense0/weight'], [512, 512])

    def test_variable_list_parser_rejects_garbage(self):
        with tempfile.TemporaryDirectory() as tmp:
            bad = Path(tmp) / 'variables.txt'
            bad.write_text('G_mapping/Dense0/weight [512, x]\n')
            with self.assertRaisesRegex(ValueError, r'variables.txt:1: cannot parse variable line'):
                sn.read_variable_list(bad)
            with self.assertRaisesRegex(FileNotFoundError, r'missing.txt: variable list not found'):
                sn.read_variable_list(Path(tmp) / 'missing.txt')


class Ops(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(1)

    def test_fused_down_equals_conv_then_box_downscale(self):
        x, w = torch.randn(2, 3, 8, 8), torch.randn(4, 3, 3, 3)
        fused = sn.conv2d_resample(x, w, 'down', True)
        plain = F.avg_pool2d(F.conv2d(x, w, padding=1), 2)
        torch.testing.assert_close(fused[..., 1:-1, 1:-1], plain[..., 1:-1, 1:-1], rtol=1e-4, atol=1e-4)

    def test_fused_up_equals_nearest_upscale_then_flipped_conv(self):
        x, w = torch.randn(2, 3, 6, 6), torch.randn(4, 3, 3, 3)
        fused = sn.conv2d_resample(x, w, 'up', True)
        up = x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
        flipped = F.conv2d(up, w.flip(2, 3), padding=1)
        torch.testing.assert_close(fused[..., 1:-1, 1:-1], flipped[..., 1:-1, 1:-1], rtol=1e-4, atol=1e-4)
        self.assertGreater((fused - F.conv2d(up, w, padding=1))[..., 1:-1, 1:-1].abs().max().item(), 1.0)

    def test_blur_is_normalized_121(self):
        x = torch.zeros(1, 2, 5, 5)
        x[0, 1, 2, 2] = 16.0
        y = sn.blur2d(x)
        expected = torch.tensor([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]])
        torch.testing.assert_close(y[0, 1, 1:4, 1:4], expected)
        self.assertEqual(y[0, 0].abs().sum().item(), 0.0)

    def test_minibatch_stddev_against_naive_groups(self):
        x = torch.randn(8, 6, 4, 4)
        y = sn.minibatch_stddev(x, 4, 1)
        self.assertEqual(list(y.shape), [8, 7, 4, 4])
        for i in range(8):  # sample i is in the group {i % 2, i % 2 + 2, i % 2 + 4, i % 2 + 6}
            group = x[[i % 2 + 2 * g for g in range(4)]]
            expected = torch.sqrt(group.var(dim=0, unbiased=False) + 1e-8).mean()
            torch.testing.assert_close(y[i, 6], expected.expand(4, 4))
        with self.assertRaisesRegex(ValueError, 'batch 6 is not divisible by the group size 4'):
            sn.minibatch_stddev(torch.randn(6, 2, 4, 4))

    def test_pixel_and_instance_norm(self):
        x = torch.randn(3, 5, 4, 4) * 7 + 2
        torch.testing.assert_close(sn.pixel_norm(x).square().mean(dim=1), torch.ones(3, 4, 4), rtol=1e-4, atol=1e-4)
        y = sn.instance_norm(x)
        torch.testing.assert_close(y.mean(dim=(2, 3)), torch.zeros(3, 5), rtol=0, atol=1e-5)
        torch.testing.assert_close(y.square().mean(dim=(2, 3)), torch.ones(3, 5), rtol=1e-4, atol=1e-4)


class Networks(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(2)

    def small_g(self, **kw):
        return sn.GStyle(resolution=16, latent_size=16, dlatent_size=16, mapping_fmaps=16, fmap_base=64,
                         fmap_max=32, **kw)

    def test_equalized_lr_runtime_scale(self):
        dense = sn.Dense(512, 512, lrmul=0.01)
        self.assertAlmostEqual(dense.weight_coef, math.sqrt(2) / math.sqrt(512) * 0.01)
        self.assertAlmostEqual(dense.weight.std().item(), 100.0, delta=1.0)  # stored N(0, 1/lrmul)
        conv = sn.Conv2d(32, 8, 3, gain=1.0)
        self.assertAlmostEqual(conv.weight_coef, 1.0 / math.sqrt(9 * 32))

    def test_style_mod_scales_and_shifts(self):
        mod = sn.StyleMod(4, 2)
        with torch.no_grad():
            mod.weight.zero_()
            mod.bias.copy_(torch.tensor([1.0, -0.5, 3.0, 4.0]))  # scale-1 for channels 0,1 then biases
        x = torch.ones(1, 2, 2, 2)
        y = mod(x, torch.zeros(1, 4))
        torch.testing.assert_close(y[0, :, 0, 0], torch.tensor([2.0 * 1 + 3.0, 0.5 * 1 + 4.0]))

    def test_truncation_pulls_coarse_layers_only(self):
        g = self.small_g(truncation_psi=0.5, truncation_cutoff=2).eval()
        z = torch.randn(2, 16)
        w = g.mapping(z)
        seen = {}
        g.synthesis.forward = lambda d: seen.setdefault('d', d)
        g.dlatent_avg.fill_(1.0)
        g(z)
        torch.testing.assert_close(seen['d'][:, :2], 1.0 + (w[:, :2] - 1.0) * 0.5)
        torch.testing.assert_close(seen['d'][:, 2:], w[:, 2:])

    def test_training_forward_updates_dlatent_avg(self):
        g = self.small_g(style_mixing_prob=0.0).train()
        z = torch.randn(4, 16)
        w = g.mapping(z)[:, 0].mean(dim=0)
        g(z)
        torch.testing.assert_close(g.dlatent_avg, w * (1 - 0.995))

    def test_shapes_and_gradients_flow(self):
        g, d = self.small_g().train(), sn.Discriminator(resolution=16, fmap_base=64, fmap_max=32)
        images = g(torch.randn(4, 16))
        self.assertEqual(list(images.shape), [4, 3, 16, 16])
        scores = d(images)
        self.assertEqual(list(scores.shape), [4, 1])
        F.softplus(-scores).mean().backward()
        self.assertIsNotNone(g.mapping.Dense0.weight.grad)
        self.assertGreater(getattr(g.synthesis, '4x4').Const.const.grad.abs().sum().item(), 0.0)
        pg, pd = sn.GPaper(resolution=16, fmap_base=64, fmap_max=32), \
            sn.Discriminator(resolution=16, fmap_base=64, fmap_max=32, style='progan')
        self.assertEqual(list(pd(pg(torch.randn(4, 32))).shape), [4, 1])


if __name__ == '__main__':
    unittest.main()
