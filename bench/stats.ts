/** Small numeric helpers for the benchmark's figures. */

/** The q-quantile (0..1) of the first `count` values, nearest-rank on a sorted copy. */
export function quantiles(values: Float64Array, count: number, qs: readonly number[]): number[] {
  if (count === 0) return qs.map(() => Number.NaN);
  const sorted = values.slice(0, count).sort();
  return qs.map((q) => sorted[Math.min(count - 1, Math.max(0, Math.ceil(q * count) - 1))]!);
}

/** Rounds for printing: 3 significant decimals below 10, 1 decimal below 1000, integers above. */
export function round(value: number): number {
  if (!Number.isFinite(value)) return value;
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value);
  if (abs >= 10) return Math.round(value * 10) / 10;
  return Math.round(value * 1000) / 1000;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs work(i) for i in 0..count-1 with at most `limit` running at once. */
export async function pool(count: number, limit: number, work: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, count) }, async () => {
    while (next < count) await work(next++);
  });
  await Promise.all(runners);
}

/** Polls until check() is true; false after timeoutMs. */
export async function waitFor(check: () => boolean, timeoutMs: number, everyMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
  return true;
}

/** A benchmark option: the flag `--name=value`, else the environment's BENCH_NAME, else fallback. */
export function option(name: string, fallback: string): string {
  const flag = process.argv.slice(2).find((arg) => arg.startsWith(`--${name}=`));
  if (flag) return flag.slice(name.length + 3);
  return process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`] || fallback;
}

export function positive(text: string, what: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${what} must be a positive integer, got "${text}"`);
  return value;
}
