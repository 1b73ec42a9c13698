import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * A PostgreSQL and a Redis server of a test's own, on free ports in temporary folders, which the
 * test may stop and start again (the shared services of TEST_DATABASE_URL and TEST_REDIS_URL must
 * not be stopped under other suites).
 */

const run = promisify(execFile);
const COMMAND_TIMEOUT_MS = 60_000;

export interface OwnService {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it if running and removes its folder. */
  dispose(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (free when asked; nothing else here takes ports from this range). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Where Debian's PostgreSQL binaries are: the newest /usr/lib/postgresql/<version>/bin, or null. */
export function postgresBinaries(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).filter((version) => existsSync(join(root, version, 'bin', 'pg_ctl')));
  versions.sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : null;
}

/**
 * initdb and pg_ctl start, with trust authentication for user postgres. PostgreSQL refuses to run
 * as root: as root, it runs as the postgres user (runuser), in a folder that user owns.
 */
export async function startOwnPostgres(): Promise<OwnService> {
  const bin = postgresBinaries();
  if (!bin) throw new Error('PostgreSQL binaries not found under /usr/lib/postgresql/*/bin');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'parley-own-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: group } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(group.trim()));
  }
  const data = join(dir, 'data');
  const pg = (tool: string, args: string[]) => {
    const [command, commandArgs] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]] : [join(bin, tool), args];
    return run(command, commandArgs, { timeout: COMMAND_TIMEOUT_MS });
  };
  let running = false;
  const service: OwnService = {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    start: async () => {
      const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=40`;
      await pg('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-o', options, '-w', '-t', '30', 'start']);
      running = true;
    },
    stop: async () => {
      // Fast: sessions are ended (57P01) and new connections refused, as in an operator's restart.
      await pg('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']);
      running = false;
    },
    dispose: async () => {
      try {
        if (running) await pg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop']);
      } finally {
        running = false;
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  try {
    await pg('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
    await service.start();
  } catch (error) {
    await service.dispose();
    throw error;
  }
  return service;
}

/** redis-server in the foreground, as this process's child, keeping nothing on disk. */
export async function startOwnRedis(): Promise<OwnService> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'parley-own-redis-'));
  let child: ChildProcess | null = null;
  const service: OwnService = {
    url: `redis://127.0.0.1:${port}`,
    start: async () => {
      const started = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = started;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('redis-server did not start within 10 s')), 10_000);
        let output = '';
        started.stdout!.on('data', (chunk: Buffer) => {
          output += String(chunk);
          if (output.includes('Ready to accept connections')) {
            clearTimeout(timer);
            resolve();
          }
        });
        started.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`redis-server exited (${code}): ${output}`));
        });
      });
    },
    stop: async () => {
      const running = child;
      child = null;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
      running.kill('SIGTERM');
      const timer = setTimeout(() => running.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
    dispose: async () => {
      try {
        await service.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  await service.start();
  return service;
}
