/**
 * Inception Score (Salimans et al. 2016) as stylegan2-ada-pytorch computes it: the detector's class probabilities
 * p(y|x) (called with no_output_bias=True) of N generated images, split into `numSplits` consecutive parts; per part
 * exp(mean_x KL(p(y|x) ‖ p(y))) with p(y) the part's mean; the score is the mean and standard deviation over parts.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';

/** IS mean and std of probabilities [N, classes]. */
export function inceptionScore(probs: Tensor, numSplits = 10): { mean: number; std: number } {
  const n = probs.shape[0]!;
  if (n < numSplits) throw new Error(`inception score: ${n} images cannot form ${numSplits} splits`);
  const scores: number[] = [];
  E.tidy(() => {
    const p = probs.to('cpu').to('float64');
    for (let i = 0; i < numSplits; i++) {
      const start = Math.floor((i * n) / numSplits);
      const end = Math.floor(((i + 1) * n) / numSplits);
      scores.push(E.tidy(() => {
        const part = p.narrow(0, start, end - start);
        const kl = part.mul(part.log().sub(part.mean(0, true).log()));
        return Math.exp(kl.sum(1).mean().item());
      }));
    }
  });
  const mean = scores.reduce((a, b) => a + b, 0) / numSplits;
  const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / numSplits);
  return { mean, std };
}
