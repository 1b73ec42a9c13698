import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startServerProcess } from './support/process.js';

// `npm start` as a user runs it: a real process, stopped by a signal.
describe('the parley process', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`starts, prints its URL, and exits 0 on ${signal}`, async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'parley-process-'));
      const { child, url, exited } = await startServerProcess({ DATA_DIR: dataDir, DATABASE_URL: '', REDIS_URL: '' });
      try {
        const health = await fetch(new URL('/health', url));
        assert.equal(health.status, 200);
        const started = Date.now();
        child.kill(signal);
        assert.equal(await exited, 0);
        assert.ok(Date.now() - started < 5000, 'exits within a few seconds');
      } finally {
        child.kill('SIGKILL');
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  }

  it('refuses to start with a bad configuration, saying why', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: new URL('..', import.meta.url),
      env: { ...process.env, PORT: 'not-a-port' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 1);
    assert.match(stderr, /PORT/);
  });
});
