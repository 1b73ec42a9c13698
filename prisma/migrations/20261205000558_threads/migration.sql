-- AlterTable
ALTER TABLE "Message" ADD COLUMN     "threadRootId" TEXT;

-- CreateIndex
CREATE INDEX "Message_threadRootId_seq_idx" ON "Message"("threadRootId", "seq");

-- AddForeignKey
ALTER TABLE "Message" ADD CONSTRAINT "Message_threadRootId_fkey" FOREIGN KEY ("threadRootId") REFERENCES "Message"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- Replies sent before threads: each joins the thread of the first message of its reply chain.
WITH RECURSIVE "chain" ("id", "rootId") AS (
  SELECT "id", "id" FROM "Message" WHERE "replyToId" IS NULL
  UNION ALL
  SELECT m."id", c."rootId" FROM "Message" m JOIN "chain" c ON m."replyToId" = c."id"
)
UPDATE "Message" m SET "threadRootId" = c."rootId"
FROM "chain" c
WHERE m."id" = c."id" AND m."replyToId" IS NOT NULL;
