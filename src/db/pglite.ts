import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';

/**
 * PostgreSQL's memory settings sized for one embedded process. PGlite's WebAssembly heap holds the
 * shared buffers, and PostgreSQL's default of 128 MB (a server's) is most of an idle Parley's RSS;
 * 16 MB still holds a chat's hot pages, and every other read is a file read the OS caches anyway.
 */
const MEMORY_PARAMS = ['-c', 'shared_buffers=16MB', '-c', 'wal_buffers=1MB', '-c', 'work_mem=2MB', '-c', 'maintenance_work_mem=8MB'];

const options = (): PGliteOptions => ({
  startParams: [...(PGlite as unknown as { defaultStartParams: string[] }).defaultStartParams, ...MEMORY_PARAMS],
});

/**
 * Opens PGlite in dir (in memory when null). A new data directory is first created by a child
 * process that then exits: PGlite runs initdb in a second, throwaway PostgreSQL instance, and the
 * hundreds of MB that takes would stay in this process (a worker thread's too: the C heap keeps
 * what a thread freed).
 */
export async function openPGlite(dir: string | null): Promise<PGlite> {
  if (dir) {
    // PGlite does not create the parent folder of its data directory.
    mkdirSync(dir, { recursive: true });
    if (!existsSync(join(dir, 'PG_VERSION'))) await initializeInChild(dir);
  }
  const pglite = dir ? new PGlite(dir, options()) : new PGlite(options());
  await pglite.waitReady;
  return pglite;
}

function initializeInChild(dir: string): Promise<void> {
  const script = `const { PGlite } = await import(process.env.PGLITE_MODULE);
    const pglite = new PGlite(process.env.PGLITE_DIR, { startParams: JSON.parse(process.env.PGLITE_PARAMS) });
    await pglite.waitReady;
    await pglite.close();`;
  const env = {
    ...process.env,
    PGLITE_MODULE: import.meta.resolve('@electric-sql/pglite'),
    PGLITE_DIR: dir,
    PGLITE_PARAMS: JSON.stringify(options().startParams),
  };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '--eval', script], { env }, (error, _stdout, stderr) =>
      error ? reject(new Error(`PGlite could not create its database in ${dir}: ${stderr || error.message}`)) : resolve(),
    );
  });
}
