import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * A copy of the repository as a fresh clone has it after `npm install`: the files git knows (with
 * their working-tree content), node_modules (linked) and the generated Prisma client, and no dist/.
 */
export function freshCheckout(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'parley-checkout-'));
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repoRoot, encoding: 'utf8' });
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  for (const file of listed.stdout.split('\0').filter(Boolean)) {
    try {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      cpSync(join(repoRoot, file), join(dir, file));
    } catch (error) {
      // Deleted in the working tree but still in the index.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  cpSync(join(repoRoot, 'src/generated'), join(dir, 'src/generated'), { recursive: true });
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface NpmStart {
  /** npm itself: the process a user, a supervisor or a container runtime starts and signals. */
  npm: ChildProcess;
  /** Resolves with the GraphiQL URL once the server logs it. */
  url: Promise<string>;
  /** Resolves with npm's exit code (or the signal that ended it). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Every line written to stdout and stderr so far. */
  output: string[];
}

/**
 * Runs `npm start` in dir as a user does from a shell: in its own process group (a shell job), with
 * the environment's npm settings of the test run removed.
 */
export function npmStart(dir: string, env: Record<string, string>): NpmStart {
  const cleanEnv = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('npm_') && name !== 'INIT_CWD' && !name.startsWith('TEST_')),
  );
  const npm = spawn('npm', ['start'], { cwd: dir, env: { ...cleanEnv, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    npm.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = new Promise<string>((resolve, reject) => {
    for (const stream of [npm.stdout!, npm.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        output.push(line);
        try {
          const entry = JSON.parse(line) as { url?: unknown; msg?: unknown };
          if (typeof entry.url === 'string' && typeof entry.msg === 'string' && entry.msg.includes('GraphiQL')) resolve(entry.url);
        } catch {
          // npm's banner, tsc's output
        }
      });
    }
    void exited.then(({ code, signal }) => reject(new Error(`npm start exited (${code ?? signal}) before serving:\n${output.join('\n')}`)));
  });
  url.catch(() => {});
  return { npm, url, exited, output };
}

/** SIGKILL to a whole process group, if anything of it is left. */
export function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** The command line, arguments joined by spaces. */
  command: string;
}

/** The processes running now, from /proc. */
export function processes(): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses.
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state === 'Z') continue;
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      found.push({ pid: Number(entry), ppid: Number(ppid), command });
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

/** The descendants of pid, parents before children. */
export function descendants(pid: number): ProcessInfo[] {
  const all = processes();
  const result: ProcessInfo[] = [];
  const parents = [pid];
  while (parents.length > 0) {
    const parent = parents.shift()!;
    for (const process of all.filter((candidate) => candidate.ppid === parent)) {
      result.push(process);
      parents.push(process.pid);
    }
  }
  return result;
}

/** Processes (of any parent: orphans are adopted) whose environment holds `NAME=value`. */
export function processesWithEnv(name: string, value: string): ProcessInfo[] {
  const wanted = `${name}=${value}`;
  return processes().filter(({ pid }) => {
    try {
      return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(wanted);
    } catch {
      return false;
    }
  });
}

/** Whether something accepts TCP connections on host:port. */
export function isListening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
