// npm run db:migrate:deploy: applies pending migrations to DATABASE_URL (PostgreSQL) if set,
// else to the PGlite database in ${DATA_DIR:-./.parley}/pglite.
import { resolve } from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { applyMigrations } from "../src/db/migrations.js";
import { createPGliteDirectory, openPGlite } from "../src/db/pglite.js";

async function deploy(): Promise<{ target: string; applied: string[] }> {
  const url = process.env.DATABASE_URL;
  if (url) {
    const pool = new pg.Pool({ connectionString: url });
    try {
      return { target: "DATABASE_URL", applied: await applyMigrations(new PrismaPg(pool)) };
    } finally {
      await pool.end();
    }
  }
  const dataDir = resolve(process.env.DATA_DIR ?? "./.parley", "pglite");
  const created = await createPGliteDirectory(dataDir);
  const pglite = await openPGlite(dataDir);
  try {
    return { target: dataDir, applied: [...created, ...(await applyMigrations(new PrismaPGlite(pglite)))] };
  } finally {
    await pglite.close();
  }
}

try {
  const { target, applied } = await deploy();
  console.log(
    applied.length
      ? `applied to ${target}:\n${applied.map((n) => `  ${n}`).join("\n")}`
      : `${target}: no pending migrations`,
  );
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
