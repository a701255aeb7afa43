/**
 * The papers' losses. StyleGAN: non-saturating logistic G loss, logistic D loss with the R1 penalty on reals.
 * ProGAN: WGAN-GP with the drift term (and AC-GAN label terms for conditional networks).
 *
 * The networks run at the working resolution, while the official loops feed D full-size (nearest-upscaled) images;
 * gradients w.r.t. the full-size image are those w.r.t. the working image divided by 2^k per pixel side (k =
 * log2(full / working)), so `gradScale` = 2^−k keeps the penalties equal to the official ones.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';

export interface DiscriminatorOut {
  scores: Tensor;
  labelLogits: Tensor | null;
}

/** softplus(−D(G(z))), averaged. */
export const gLogisticNonsaturating = (fake: DiscriminatorOut): Tensor => fake.scores.neg().softplus().mean();

/** softplus(D(G(z))) + softplus(−D(x)) averaged, and the R1 penalty γ/2·‖∇ₓD(x)‖² (separately, for logging). */
export function dLogisticR1(
  real: DiscriminatorOut, fake: DiscriminatorOut, { reals, r1Gamma, gradScale = 1 }: { reals: Tensor; r1Gamma: number; gradScale?: number },
): { loss: Tensor; penalty: Tensor } {
  return E.tidy(() => {
    const loss = fake.scores.softplus().mean().add(real.scores.neg().softplus().mean());
    if (r1Gamma === 0) return { loss, penalty: E.zeros([]) };
    const [g] = E.grad(real.scores.sum(), reals, { createGraph: true });
    const penalty = g!.square().sum([1, 2, 3]).mul(gradScale * gradScale).mean().mul(r1Gamma / 2);
    return { loss: loss.add(penalty), penalty };
  });
}

/** Softmax cross-entropy of label logits against integer classes. */
function labelCe(logits: Tensor, classes: Tensor): Tensor {
  return E.nllLoss(E.logSoftmax(logits, 1), classes);
}

/** −D(G(z)) averaged (+ the AC-GAN label term). */
export function gWgan(fake: DiscriminatorOut, classes: Tensor | null, condWeight = 1): Tensor {
  return E.tidy(() => {
    const loss = fake.scores.neg().mean();
    return fake.labelLogits && classes ? loss.add(labelCe(fake.labelLogits, classes).mul(condWeight)) : loss;
  });
}

export interface WganGpOptions {
  /** x̂, the per-sample mix of reals and fakes, and D(x̂). */
  mixed: Tensor;
  mixedOut: DiscriminatorOut;
  /** Class indices of the reals and the fakes (conditional D), or null. */
  realClasses: Tensor | null;
  fakeClasses: Tensor | null;
  lambda: number;
  target: number;
  epsDrift: number;
  condWeight: number;
  gradScale?: number;
}

/**
 * D(G(z)) − D(x) + λ/target²·(‖∇D(x̂)‖ − target)² + ε_drift·D(x)², x̂ = lerp(x, G(z), u) per sample; the mixing
 * is done by the caller (`o.mixed`, `o.mixedOut`).
 */
export function dWganGp(real: DiscriminatorOut, fake: DiscriminatorOut, o: WganGpOptions): { loss: Tensor; penalty: Tensor } {
  return E.tidy(() => {
    let loss = fake.scores.sub(real.scores).mean();
    const [g] = E.grad(o.mixedOut.scores.sum(), o.mixed, { createGraph: true });
    const norms = g!.square().sum([1, 2, 3]).sqrt().mul(o.gradScale ?? 1);
    const penalty = norms.sub(o.target).square().mean().mul(o.lambda / (o.target * o.target));
    loss = loss.add(penalty).add(real.scores.square().mean().mul(o.epsDrift));
    if (real.labelLogits && o.realClasses) loss = loss.add(labelCe(real.labelLogits, o.realClasses).mul(o.condWeight));
    if (fake.labelLogits && o.fakeClasses) loss = loss.add(labelCe(fake.labelLogits, o.fakeClasses).mul(o.condWeight));
    return { loss, penalty };
  });
}
