/** Bounded concurrency for per-image work whose results must be used in order. */

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * Runs `task(0 … count − 1)` with at most `limit` tasks in flight and hands each outcome to `consume` in index
 * order (the next task starts as soon as the oldest one is consumed). A task's failure is passed to `consume`
 * as an outcome; an exception from `consume` stops the loop (tasks in flight finish unobserved).
 */
export async function forEachInOrder<T>(
  { count, limit }: { count: number; limit: number },
  task: (index: number) => Promise<T>,
  consume: (index: number, outcome: Outcome<T>) => Promise<void> | void,
): Promise<void> {
  const inFlight: Promise<Outcome<T>>[] = [];
  let next = 0;
  const launch = (): void => {
    const index = next++;
    inFlight.push(
      Promise.resolve()
        .then(() => task(index))
        .then(
          (value): Outcome<T> => ({ ok: true, value }),
          (error: unknown): Outcome<T> => ({ ok: false, error }),
        ),
    );
  };
  while (next < count && inFlight.length < Math.max(1, limit)) launch();
  for (let index = 0; index < count; index++) {
    const outcome = await inFlight.shift()!;
    if (next < count) launch();
    await consume(index, outcome);
  }
}
