/**
 * A c10d worker for the distributed tests: joins the group of the torchrun environment and runs one scenario (argv[2]),
 * printing its results as one JSON line on stdout.
 */
import * as E from '../../src/engine/index.js';
import { shardedMetricScenario } from './sharded-metric.js';
import { DataParallelGroup } from '../../src/train/distributed.js';

const scenario = process.argv[2];
const group = E.ProcessGroup.fromEnv()!;
const r = group.rank;
const out: Record<string, unknown> = { rank: r, size: group.size, backend: group.backend };

if (scenario === 'collectives') {
  const a = E.tensor([r + 1, 10 * (r + 1), -r]);
  group.allReduce([a], 'sum').wait();
  out.sum = Array.from(a.toFloat32Array());
  const m = E.tensor([r, -r]);
  await group.allReduce([m], 'max').promise();
  out.max = Array.from(m.toFloat32Array());
  const b = r === 1 ? E.tensor([7, 8, 9]) : E.zeros([3]);
  group.broadcast([b], 1).wait();
  out.broadcast = Array.from(b.toFloat32Array());
  const gathered = await group.allGather(E.full([2], r * 2 + 0.5)).promise();
  out.gathered = gathered.map((t) => Array.from(t.toFloat32Array()));
  // Several collectives in flight at once, completed out of issue order.
  const big = Array.from({ length: 3 }, (_, i) => E.full([1 << 16], r + i));
  const works = big.map((t) => group.allReduce([t], 'sum'));
  for (const w of works.reverse()) await w.promise();
  out.inFlight = big.map((t) => t.toFloat32Array()[12345]);
  await group.barrier().promise();
  group.storeSet(`hello/${r}`, `from ${r}`);
  out.store = group.storeGet(`hello/${(r + 1) % group.size}`);
} else if (scenario === 'reducer') {
  // Gradients of a loss with an R1-like penalty (an inner create_graph gradient with respect to the input), over
  // 4 parameters in 8-byte buckets, one parameter unused: reduced during backward (c10d's Reducer) and after it.
  const params = [E.tensor([1, 2, 3]), E.tensor([[0.5, -1], [2, 1]]), E.tensor([7, 7]), E.tensor([0.25, -0.5])].map((p) => E.keep(p.requiresGrad_(true)));
  const [a, b, , d] = params as [E.Tensor, E.Tensor, E.Tensor, E.Tensor];
  const loss = (step: number) => {
    const x = E.tensor([r + 1, step - r, 2 * r - 1]).requiresGrad_(true);
    const s = a.mul(x.square()).sum().add(b.matmul(d).mul(x.narrow(0, 0, 2)).sum());
    const [g] = E.grad(s, x, { createGraph: true });
    return s.add(g!.square().sum().mul(0.1)).add(d.sum().square());
  };
  const grads = (overlap: boolean) => {
    const dp = new DataParallelGroup(group, 'cpu', { overlap, bucketBytes: 8 });
    const steps = [1, 2].map((step) => E.tidy(() => dp.gradients(loss(step), params).map((g) => (g ? Array.from(g.toFloat32Array()) : null))));
    dp.dispose();
    return steps;
  };
  out.overlap = grads(true);
  out.after = grads(false);
  out.local = E.tidy(() => E.grad(loss(1), params, { allowUnused: true }).map((g) => (g ? Array.from(g.toFloat32Array()) : null)));
  out.badBuckets = [[[0, 1], [1, 2, 3]], [[0, 1, 2]]].map((buckets) => {
    try {
      new E.Reducer(group, params, { buckets, bucketBytes: 8 }).destroy();
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  });
} else if (scenario === 'reducer-peer-dies') {
  // Rank 1 dies after the rendezvous; rank 0's backward must fail when it waits for its gradient buckets.
  const w = E.keep(E.ones([64]).requiresGrad_(true));
  const reducer = new E.Reducer(group, [w], { buckets: [[0]], bucketBytes: 256 });
  group.barrier().wait();
  if (r === 1) process.kill(process.pid, 'SIGKILL');
  try {
    E.tidy(() => reducer.backward([w.square().sum()]));
    out.error = null;
  } catch (e) {
    out.error = (e as Error).message;
    out.errorName = (e as Error).constructor.name;
  }
} else if (scenario === 'metric-shards') {
  // FID, KID, IS and PPL of a tiny generator, its images generated in two shards (env DATA: the real images).
  out.results = await shardedMetricScenario(process.env.DATA!, group);
} else if (scenario === 'peer-dies') {
  // Rank 1 dies after the rendezvous; rank 0's next collective must fail, not hang.
  group.barrier().wait();
  if (r === 1) process.kill(process.pid, 'SIGKILL');
  const t = E.ones([4]);
  const started = Date.now();
  try {
    group.allReduce([t], 'sum').wait();
    out.error = null;
  } catch (e) {
    out.error = (e as Error).message;
    out.errorName = (e as Error).constructor.name;
  }
  out.seconds = (Date.now() - started) / 1000;
} else if (scenario === 'peer-silent') {
  // Rank 1 stays alive but never joins the collective: rank 0 times out.
  group.barrier().wait();
  if (r === 1) {
    await new Promise((res) => setTimeout(res, 4000));
  } else {
    const started = Date.now();
    try {
      await group.allReduce([E.ones([4])], 'sum').promise();
      out.error = null;
    } catch (e) {
      out.error = (e as Error).message;
    }
    out.seconds = (Date.now() - started) / 1000;
  }
}
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);
