// The child process of createPGliteDirectory (pglite.ts): creates the data directory named by its
// argument,
// applies the migrations, and prints their names as JSON.
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { applyMigrations } from './migrations.js';
import { openPGlite } from './pglite.js';

const pglite = await openPGlite(process.argv[1]!);
try {
  process.stdout.write(JSON.stringify(await applyMigrations(new PrismaPGlite(pglite))));
} finally {
  await pglite.close();
}
