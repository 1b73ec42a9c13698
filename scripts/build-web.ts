/**
 * Builds the web client into web/dist: its typed documents (codegen.ts's web target), then Vite's bundle.
 *
 *   --if-stale  skip when web/dist was built from the same sources (schema, codegen config, web/, lock file)
 *   --optional  skip with a note when the front-end tooling (dev dependencies) is not installed, as after
 *               `npm ci --omit=dev`: such an installation serves a web/dist built elsewhere (README, "Web client")
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = process.cwd();
const webDir = join(root, 'web');
const outDir = join(webDir, 'dist');
/** Written into web/dist after a build: the hash of the sources it was built from. */
const stampFile = join(outDir, '.sources-hash');

const args = new Set(process.argv.slice(2));

/** Everything the bundle is made from; generated documents are covered by their sources. */
function sourcesHash(): string {
  const hash = createHash('sha256');
  const files = ['schema.graphql', 'codegen.ts', 'package-lock.json', ...filesUnder(webDir)];
  for (const file of files) hash.update(`${file}\0`).update(readFileSync(join(root, file))).update('\0');
  return hash.digest('hex');
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .filter((file) => !file.startsWith(join('web', 'dist')) && !file.startsWith(join('web', 'src', 'gql')))
    .sort();
}

function builtFrom(): string | null {
  try {
    return readFileSync(stampFile, 'utf8').trim();
  } catch {
    return null;
  }
}

/** Loads the build tools, or null when they are not installed (a production install). */
async function loadTools() {
  try {
    const [codegen, vite, config] = await Promise.all([import('@graphql-codegen/cli'), import('vite'), import('../codegen.js')]);
    return { codegen, vite, config };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return null;
    throw error;
  }
}

const hash = sourcesHash();
if (args.has('--if-stale') && builtFrom() === hash) process.exit(0);

const tools = await loadTools();
if (!tools) {
  if (!args.has('--optional')) throw new Error('Building the web client needs the dev dependencies: run `npm install` (or `npm ci`) first.');
  console.warn('web client: not built (no dev dependencies); serving whatever web/dist holds.');
  process.exit(0);
}

const { default: config, webOutput } = tools.config;
await tools.codegen.generate({ ...config, generates: { [webOutput]: config.generates[webOutput]! }, silent: true }, true);
await tools.vite.build({ configFile: join(webDir, 'vite.config.ts'), logLevel: 'warn' });
writeFileSync(stampFile, `${hash}\n`);
console.log(`web client: built into ${relative(root, outDir)}/`);
