// npm run db:migrate:create -- <name>: writes prisma/migrations/<timestamp>_<name>/migration.sql
// from the difference between the existing migrations and prisma/schema.prisma.
import { createMigration } from "../src/db/migrations.js";

const name = process.argv[2];
if (!name) {
  console.error("usage: npm run db:migrate:create -- <name>");
  process.exit(2);
}

try {
  const dir = await createMigration(name);
  console.log(dir ?? "no schema changes");
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
