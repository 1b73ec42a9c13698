// Start-up migrations: a new embedded data directory is created migrated by a child process, and a
// start whose database is up to date skips the schema engine; neither may skip a migration that is
// pending, failed or edited.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { openDatabase, pgliteDirectory } from '../src/db/client.js';
import { applyMigrations } from '../src/db/migrations.js';
import { openPGliteWorker } from '../src/db/pglite-worker.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';

const shipped = join(import.meta.dirname, '..', 'prisma', 'migrations');
const shippedNames = readdirSync(shipped, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

describe('an embedded data directory', () => {
  it('is created with every migration applied, and a restart applies none', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-migrations-'));
    try {
      const first = await openDatabase({ kind: 'pglite', dir: pgliteDirectory(dataDir) });
      try {
        assert.deepEqual(await first.migrate(), shippedNames);
        const rows = await first.prisma.$queryRaw<{ migration_name: string }[]>`
          SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY migration_name`;
        assert.deepEqual(
          rows.map((row) => row.migration_name),
          shippedNames,
        );
      } finally {
        await first.close();
      }
      const second = await openDatabase({ kind: 'pglite', dir: pgliteDirectory(dataDir) });
      try {
        assert.deepEqual(await second.migrate(), []);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('migrations on an existing database', () => {
  let database: TestDatabase;
  let factory: SqlMigrationAwareDriverAdapterFactory;
  let close: () => Promise<void>;
  let migrationsDir: string;

  before(async () => {
    database = await createTestDatabase();
    if (database.location.kind === 'postgres') {
      const pool = new pg.Pool({ connectionString: database.location.url, max: 1 });
      factory = new PrismaPg(pool);
      close = () => pool.end();
    } else {
      const worker = await openPGliteWorker(null);
      factory = worker.factory;
      close = () => worker.close();
    }
    migrationsDir = mkdtempSync(join(tmpdir(), 'parley-migrations-dir-'));
    cpSync(shipped, migrationsDir, { recursive: true });
  });
  after(async () => {
    await close();
    await database.drop();
    rmSync(migrationsDir, { recursive: true, force: true });
  });

  const addMigration = (name: string, sql: string) => {
    mkdirSync(join(migrationsDir, name));
    writeFileSync(join(migrationsDir, name, 'migration.sql'), sql);
  };
  const tableExists = async (name: string) => {
    const connection = await factory.connect();
    try {
      const result = await connection.queryRaw({ sql: `SELECT to_regclass('${name}') IS NOT NULL`, args: [], argTypes: [] });
      return result.rows[0]![0] === true;
    } finally {
      await connection.dispose();
    }
  };

  it('applies all, then none while nothing changed', async () => {
    assert.deepEqual(await applyMigrations(factory, migrationsDir), shippedNames);
    assert.deepEqual(await applyMigrations(factory, migrationsDir), []);
  });

  it('applies a migration added since the last start', async () => {
    addMigration('29990101000000_probe', 'CREATE TABLE "Probe" ("id" INTEGER PRIMARY KEY);\n');
    assert.deepEqual(await applyMigrations(factory, migrationsDir), ['29990101000000_probe']);
    assert.equal(await tableExists('"Probe"'), true);
    assert.deepEqual(await applyMigrations(factory, migrationsDir), []);
  });

  it('lets the schema engine judge an applied migration that was edited', async () => {
    appendFileSync(join(migrationsDir, '29990101000000_probe', 'migration.sql'), '-- edited\n');
    // `migrate deploy` reapplies nothing: an edit is for `migrate dev` to report.
    assert.deepEqual(await applyMigrations(factory, migrationsDir), []);
  });

  it('refuses to go on past a failed migration, at every start', async () => {
    addMigration('29990102000000_broken', 'CREATE TABLE "Broken" ("id" INTEGER REFERENCES "NoSuchTable"("id"));\n');
    await assert.rejects(applyMigrations(factory, migrationsDir), /29990102000000_broken|NoSuchTable/);
    await assert.rejects(applyMigrations(factory, migrationsDir), /29990102000000_broken|NoSuchTable/);
  });
});
