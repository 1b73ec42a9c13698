// Prisma CLI configuration. With normal internet access, `npx prisma migrate deploy` uses the
// native engine against DATABASE_URL; offline, use `npm run db:migrate:deploy` (wasm engine).
// Not env("DATABASE_URL"): it throws when unset, and `prisma generate` must work without it.
import { defineConfig } from "prisma/config";

const url = process.env.DATABASE_URL;

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  ...(url ? { datasource: { url } } : {}),
});
