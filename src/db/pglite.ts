import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { runSiblingSource } from './sibling-module.js';

/**
 * PostgreSQL's memory settings sized for one embedded process. PGlite's WebAssembly heap holds the
 * shared buffers, and PostgreSQL's default of 128 MB (a server's) is most of an idle Parley's RSS;
 * 16 MB still holds a chat's hot pages, and every other read is a file read the OS caches anyway.
 */
const MEMORY_PARAMS = ['-c', 'shared_buffers=16MB', '-c', 'wal_buffers=1MB', '-c', 'work_mem=2MB', '-c', 'maintenance_work_mem=8MB'];

const options = (): PGliteOptions => ({
  startParams: [...(PGlite as unknown as { defaultStartParams: string[] }).defaultStartParams, ...MEMORY_PARAMS],
});

/** Opens PGlite in dir (in memory when null); a directory must have been made by createPGliteDirectory. */
export async function openPGlite(dir: string | null): Promise<PGlite> {
  const pglite = dir ? new PGlite(dir, options()) : new PGlite(options());
  await pglite.waitReady;
  return pglite;
}

/**
 * Creates PGlite's data directory in dir, migrated, unless it exists; returns the migrations applied.
 * A child process does it and exits: PGlite runs initdb in a second, throwaway PostgreSQL instance
 * and the migrations load Prisma's schema engine, hundreds of MB that would stay in this process
 * (a worker thread's too: the C heap keeps what a thread freed).
 */
export async function createPGliteDirectory(dir: string): Promise<string[]> {
  // PGlite does not create the parent folder of its data directory.
  mkdirSync(dir, { recursive: true });
  if (existsSync(join(dir, 'PG_VERSION'))) return [];
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '--eval', runSiblingSource(import.meta.url, 'pglite-create'), dir],
      (error, out, stderr) =>
        error ? reject(new Error(`PGlite could not create its database in ${dir}: ${stderr || error.message}`)) : resolve(out),
    );
  });
  return JSON.parse(stdout) as string[];
}
