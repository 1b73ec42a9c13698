import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sleep } from './stats.js';

/** The repository root (bench/..), where `src/main.ts` lives. */
export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export interface ServerChild {
  child: ChildProcess;
  pid: number;
  /** http://127.0.0.1:<port>/graphql */
  url: string;
  wsUrl: string;
  /** Sends SIGTERM (graceful: lets --cpu-prof write its profile), SIGKILL after timeoutMs. */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * Starts a node child running `script` (relative to the repo root; TypeScript through tsx, compiled
 * JavaScript as it is), and resolves with the URL
 * from the first JSON log line whose msg contains `marker` and that carries `url`.
 */
export async function startChild(
  script: string,
  env: Record<string, string>,
  options: { marker: string; nodeArgs?: string[]; label: string; startTimeoutMs?: number },
): Promise<ServerChild> {
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...loader, script], {
    cwd: repoRoot,
    // The benchmark is one address and a few users sending as fast as they can: a load test, not abuse.
    env: { ...process.env, RATE_LIMITS: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stderrTail: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    stderrTail.push(line);
    if (stderrTail.length > 30) stderrTail.shift();
    if (process.env.BENCH_VERBOSE) process.stderr.write(`[${options.label} stderr] ${line}\n`);
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${options.label} did not start within ${options.startTimeoutMs ?? 120_000} ms`));
    }, options.startTimeoutMs ?? 120_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (process.env.BENCH_VERBOSE) process.stderr.write(`[${options.label}] ${line}\n`);
      let entry: { url?: unknown; msg?: unknown; level?: unknown };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        return;
      }
      if (typeof entry.level === 'number' && entry.level >= 50) process.stderr.write(`[${options.label}] ${line}\n`);
      if (typeof entry.url === 'string' && typeof entry.msg === 'string' && entry.msg.includes(options.marker)) {
        clearTimeout(timer);
        resolve(entry.url);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${options.label} exited early with ${code}:\n${stderrTail.join('\n')}`));
    });
  });
  const pid = child.pid!;
  return {
    child,
    pid,
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    stop: async (timeoutMs = 15_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The server as `npm start` runs it: dist/main.js, built first when stale. */
export const compiledServer = {
  script: 'dist/main.js',
  nodeArgs: ['--enable-source-maps', '--expose-gc'],
  // As `npm start` sets it (unless already set): graphql-js type checks are plain instanceof then.
  env: { NODE_ENV: 'production' },
};

export function buildIfStale(): void {
  const result = spawnSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { cwd: repoRoot, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('npm run build failed');
}

/** Memory of a process from /proc/<pid>/status, in MiB. */
export function memoryOf(pid: number): { rssMB: number; hwmMB: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rssMB: kb('VmRSS') / 1024, hwmMB: kb('VmHWM') / 1024 };
  } catch {
    return { rssMB: Number.NaN, hwmMB: Number.NaN };
  }
}

/** Resets the process's peak RSS (VmHWM) to its current RSS; allowed for our own children, no root needed. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

const ticksPerSecond = 100; // USER_HZ on Linux

/** User+system CPU seconds a process has used so far. */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return Number.NaN;
  }
}

/** Machine-wide busy and total CPU time (all cores), in seconds, from /proc/stat. */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  const total = values.reduce((sum, value) => sum + value, 0);
  return { busy: (total - idle) / ticksPerSecond, total: total / ticksPerSecond };
}

/** Samples a process's RSS periodically; peak() is the highest seen (VmHWM catches spikes between samples). */
export function sampleRss(pid: number, everyMs = 200) {
  let peak = 0;
  const take = () => {
    const { rssMB } = memoryOf(pid);
    if (rssMB > peak) peak = rssMB;
  };
  take();
  const timer = setInterval(take, everyMs);
  timer.unref();
  return {
    stop: () => {
      take();
      clearInterval(timer);
      return peak;
    },
  };
}

export async function waitExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await Promise.race([new Promise((resolve) => child.once('exit', resolve)), sleep(timeoutMs)]);
}

/**
 * The server's event-loop delay (perf_hooks.monitorEventLoopDelay, as prom-client samples it every
 * 10 ms) since the previous read, and its garbage collection so far, from GET /metrics: prom-client
 * resets the delay histogram at each scrape, so a read before a phase and one after it give the
 * phase's. Null when the server has no /metrics (the ceiling).
 */
export async function eventLoopOf(url: string): Promise<{ delayMs: { p50: number; p99: number; max: number }; gcSeconds: number } | null> {
  const response = await fetch(new URL('/metrics', url)).catch(() => null);
  if (!response?.ok) return null;
  const text = await response.text();
  const value = (name: string) =>
    text
      .split('\n')
      .filter((line) => line.startsWith(name))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  const ms = (name: string) => Math.round(value(name) * 1e4) / 10;
  return {
    delayMs: { p50: ms('nodejs_eventloop_lag_p50_seconds'), p99: ms('nodejs_eventloop_lag_p99_seconds'), max: ms('nodejs_eventloop_lag_max_seconds') },
    gcSeconds: value('nodejs_gc_duration_seconds_sum'),
  };
}
