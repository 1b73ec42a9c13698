-- DropTable
DROP TABLE "WebhookRoomCursor";
