// `npm run build`: compiles src/ to dist/ (tsc -p tsconfig.build.json), then the web client when its
// sources changed and its tooling (dev dependencies) is installed (`npm run build:web -- --if-stale --optional`). With --if-stale (npm start's prestart) it
// builds only when an input is newer than the last build, so a fresh clone builds on its first
// start and every later start costs a walk over the sources' timestamps.
// Plain JavaScript: it runs before anything is compiled, and without dev tooling when dist/ is fresh.
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
/** Written last: a build that did not finish leaves dist/ stale. */
const stamp = join(root, 'dist', '.build-stamp');
const inputs = ['src', 'web', 'prisma/schema.prisma', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'];
/** Outputs and dependencies inside the inputs (web/ has its own). */
const ignored = new Set(['node_modules', 'dist']);

/** Newest modification time under path, in ms; 0 when it does not exist. */
function newest(path) {
  let stats;
  try {
    stats = statSync(path);
  } catch {
    return 0;
  }
  if (!stats.isDirectory()) return stats.mtimeMs;
  let latest = stats.mtimeMs;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (ignored.has(entry.name) || entry.name.startsWith('.')) continue;
    latest = Math.max(latest, newest(join(path, entry.name)));
  }
  return latest;
}

function isStale() {
  let built;
  try {
    built = statSync(stamp).mtimeMs;
  } catch {
    return true;
  }
  return inputs.some((input) => newest(join(root, input)) > built);
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.error) throw result.error;
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function typescriptCompiler() {
  try {
    return createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    console.error('dist/ is missing or older than the sources, and TypeScript is not installed to build it: run `npm install` (with dev dependencies), then `npm run build`.');
    process.exit(1);
  }
}

if (process.argv.includes('--if-stale') && !isStale()) process.exit(0);
const tsc = typescriptCompiler();
console.error('Building dist/ (npm run build)…');
rmSync(join(root, 'dist'), { recursive: true, force: true });
run(process.execPath, [tsc, '-p', 'tsconfig.build.json']);
// npm sets npm_execpath for its scripts; `npm` on the PATH otherwise.
const npm = process.env.npm_execpath;
const buildWeb = ['run', 'build:web', '--', '--if-stale', '--optional'];
if (npm) run(process.execPath, [npm, ...buildWeb]);
else run('npm', buildWeb);
writeFileSync(stamp, `${new Date().toISOString()}\n`);
