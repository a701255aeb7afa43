"""StyleGAN1 training-step benchmark on stylegan_nets.py (PyTorch peer of stylegan-ts's train bench).
Prints ONE JSON object.

One training step = one D step then one G step, as the official loop (D_repeats 1), fully grown (lod 0):

  D step:  z ~ N(0,1) [B, latent]; fakes = G(z) without grad (training mode: style mixing p 0.9 with a second
           mapping pass, dlatent_avg update beta 0.995, fresh noise); reals = fixed x ~ N(0,1) [B, 3, res, res]
           with requires_grad (synthetic data);
           s_real = D(reals), s_fake = D(fakes); (g,) = autograd.grad(s_real.sum(), reals, create_graph=True);
           r1 = g.square().sum(dim=(1, 2, 3));
           loss_D = mean(softplus(s_fake) + softplus(-s_real) + gamma / 2 * r1), gamma 10 (R1 every step);
           zero_grad, backward, Adam step on D; then Gs <- lerp(G, Gs, beta), beta = 0.5 ** (B / 10000)
           (the official EMA runs with the D step; dlatent_avg copied). --no-ema drops it.
  G step:  D's parameters frozen (requires_grad False); z ~ N(0,1); loss_G = mean(softplus(-D(G(z))))
           (non-saturating logistic); zero_grad, backward, Adam step on G.
  Adam: lr 0.001, betas (0, 0.99), eps 1e-8 for both (torch's Adam; TF's eps placement differs negligibly).

Cases: each resolution in --res (default 32,64) x each width preset in --widths (default official,small):
  official: fmap_base 8192, fmap_max 512, latent = dlatent = 512, mapping 8 layers x 512 (lrmul 0.01)
  small:    fmap_base 1024, fmap_max 128, latent = dlatent = 128, mapping 4 layers x 128
Batch: --batch N for every case; default 4 for official widths and 16 for small widths on CPU, and the
official 1-GPU minibatch (32: 64, 64: 32, res >= 128: 16 or less) on CUDA. Minibatch stddev group 4.
images_per_s = B / (median step time). --quick: 1 warmup + 2 timed steps. Timing protocol: bench_common.py.
Case keys: 'train_<res>_<widths>_b<batch>'.
--memory-format channels_last puts G, D and the reals in channels-last (PyTorch's best layout on some CPUs).
--autocast bf16 runs each whole step (forward, losses, backward, Adam) under torch.autocast(bfloat16): PyTorch's
mixed precision, the peer of stylegan-ts's `--precision bf16` training.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from bench_common import (base_parser, emit, environment, fail, images_per_s, memory_format, parse_int_list,
                          parse_name_list, setup, time_case, with_autocast)
from stylegan_nets import Discriminator, GStyle, trainable_count

WIDTHS = {
    'official': dict(fmap_base=8192, fmap_max=512, latent_size=512, mapping_layers=8),
    'small': dict(fmap_base=1024, fmap_max=128, latent_size=128, mapping_layers=4),
}
ONE_GPU_MINIBATCH = {4: 128, 8: 128, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8, 512: 4, 1024: 4}
CPU_BATCH = {'official': 4, 'small': 16}
R1_GAMMA = 10.0
ADAM = dict(lr=0.001, betas=(0.0, 0.99), eps=1e-8)
G_SMOOTHING_KIMG = 10.0


def build_networks(resolution: int, widths: str, device: torch.device, fmt=torch.contiguous_format):
    w = WIDTHS[widths]
    g = GStyle(resolution=resolution, latent_size=w['latent_size'], dlatent_size=w['latent_size'],
               mapping_layers=w['mapping_layers'], mapping_fmaps=w['latent_size'],
               fmap_base=w['fmap_base'], fmap_max=w['fmap_max']).to(device, memory_format=fmt)
    d = Discriminator(resolution=resolution, fmap_base=w['fmap_base'], fmap_max=w['fmap_max']).to(device, memory_format=fmt)
    return g, d


class TrainingStep:
    """Holds G, Gs, D, their Adam optimizers and a fixed batch of synthetic reals; __call__ runs one step."""

    def __init__(self, g: GStyle, d: Discriminator, batch: int, device: torch.device, ema: bool,
                 fmt=torch.contiguous_format):
        self.g, self.d, self.batch, self.device = g.train(), d.train(), batch, device
        self.gs = copy.deepcopy(g).eval() if ema else None
        self.ema_beta = 0.5 ** (batch / (G_SMOOTHING_KIMG * 1000.0))
        self.g_opt = torch.optim.Adam(g.parameters(), **ADAM)
        self.d_opt = torch.optim.Adam(d.parameters(), **ADAM)
        res = g.synthesis.num_layers // 2 + 1
        self.reals = torch.randn(batch, 3, 2 ** res, 2 ** res, device=device).contiguous(memory_format=fmt)

    def latents(self) -> torch.Tensor:
        return torch.randn(self.batch, self.g.latent_size, device=self.device)

    def d_step(self) -> None:
        with torch.no_grad():
            fakes = self.g(self.latents())
        reals = self.reals.detach().requires_grad_(True)
        real_scores = self.d(reals)
        fake_scores = self.d(fakes)
        (real_grads,) = torch.autograd.grad(real_scores.sum(), reals, create_graph=True)
        r1_penalty = real_grads.square().sum(dim=(1, 2, 3))
        loss = (F.softplus(fake_scores[:, 0]) + F.softplus(-real_scores[:, 0]) + (R1_GAMMA / 2) * r1_penalty).mean()
        self.d_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.d_opt.step()

    def update_gs(self) -> None:
        with torch.no_grad():
            for p_ema, p in zip(self.gs.parameters(), self.g.parameters()):
                p_ema.copy_(p + (p_ema - p) * self.ema_beta)
            for b_ema, b in zip(self.gs.buffers(), self.g.buffers()):
                b_ema.copy_(b)

    def g_step(self) -> None:
        self.d.requires_grad_(False)
        loss = F.softplus(-self.d(self.g(self.latents()))[:, 0]).mean()
        self.g_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.g_opt.step()
        self.d.requires_grad_(True)

    def __call__(self) -> None:
        self.d_step()
        if self.gs is not None:
            self.update_gs()
        self.g_step()


def main() -> None:
    parser = base_parser(__doc__.split('\n')[0], iters=5, warmup=2)
    parser.add_argument('--res', type=parse_int_list, default=[32, 64], help='resolutions (default 32,64)')
    parser.add_argument('--widths', type=parse_name_list, default=list(WIDTHS),
                        help='subset of: ' + ','.join(WIDTHS))
    parser.add_argument('--batch', type=int, default=None, help='minibatch for every case (default: see above)')
    parser.add_argument('--no-ema', action='store_true', help='skip the Gs moving-average update')
    parser.add_argument('--quick', action='store_true', help='1 warmup + 2 timed steps per case')
    args = parser.parse_args()
    if args.quick:
        args.warmup, args.iters = 1, 2
    unknown = [w for w in args.widths if w not in WIDTHS]
    if unknown:
        fail(f'unknown --widths {unknown}; known: {list(WIDTHS)}')
    if args.batch is not None and args.batch < 1:
        fail(f'--batch must be >= 1, got {args.batch}')
    device = setup(args)

    results = {}
    for resolution in args.res:
        for widths in args.widths:
            if args.batch is not None:
                batch = args.batch
            elif device.type == 'cuda':
                batch = ONE_GPU_MINIBATCH.get(resolution, 4)
            else:
                batch = CPU_BATCH[widths]
            try:
                g, d = build_networks(resolution, widths, device, memory_format(args))
                step = TrainingStep(g, d, batch, device, ema=not args.no_ema, fmt=memory_format(args))
                timing = time_case(with_autocast(args, device, step), device, args.warmup, args.iters)
            except ValueError as err:
                fail(f'train {resolution} {widths}: {err}')
            config = dict(WIDTHS[widths], resolution=resolution, widths=widths, batch=batch,
                          params_G=trainable_count(g), params_D=trainable_count(d), r1_gamma=R1_GAMMA,
                          adam=dict(ADAM), ema=not args.no_ema, ema_beta=step.ema_beta,
                          style_mixing_prob=g.style_mixing_prob, mbstd_group_size=4)
            results[f'train_{resolution}_{widths}_b{batch}'] = dict(
                config=config, images_per_s=images_per_s(timing, batch), **timing)
            del g, d, step
    emit({'bench': 'train', 'env': environment(args, device), 'quick': args.quick, 'results': results})


if __name__ == '__main__':
    main()
