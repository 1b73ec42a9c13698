import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ServerProcess {
  child: ChildProcess;
  /** e.g. http://127.0.0.1:41234/graphql */
  url: string;
  wsUrl: string;
  exited: Promise<number | null>;
}

/**
 * Runs Parley as a separate process, as `npm start` would (so it can be killed without a graceful
 * close). Resolves once it logs its GraphiQL URL (so LOG_LEVEL must let info through).
 */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: new URL('../..', import.meta.url),
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { url?: string; msg?: string };
        if (entry.url && entry.msg?.includes('GraphiQL')) resolve(entry.url);
      } catch {
        // not a log line
      }
    });
    void exited.then((code) => reject(new Error(`server process exited early with ${code}`)));
    setTimeout(() => reject(new Error('server process did not start within 30 s')), 30_000).unref();
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  return { child, url, wsUrl: url.replace(/^http/, 'ws'), exited };
}
