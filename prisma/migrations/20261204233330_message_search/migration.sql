-- The body's words for searchMessages, kept by the database: a trigger recomputes them on every insert and
-- on every update of the body (edit, delete), so no application path can leave them stale. (A generated
-- column would do the same, but Prisma reads its expression as a default and would drop it in every later
-- migration.) The 'simple' configuration lowercases without stemming: chat is in any language, and a prefix
-- query ("deploy*") then matches exactly the words that start with it.
ALTER TABLE "Message" ADD COLUMN "searchVector" tsvector;

CREATE TRIGGER "Message_searchVector_update"
    BEFORE INSERT OR UPDATE OF "body" ON "Message"
    FOR EACH ROW EXECUTE FUNCTION tsvector_update_trigger("searchVector", 'pg_catalog.simple', "body");

UPDATE "Message" SET "searchVector" = to_tsvector('pg_catalog.simple', coalesce("body", ''));

-- CreateIndex
CREATE INDEX "Message_searchVector_idx" ON "Message" USING GIN ("searchVector");
