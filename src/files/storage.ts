import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileSettings } from '../config.js';
import type { PrismaClient } from '../db/client.js';

/**
 * Where attachment bytes are kept, by attachment id. The bytes are put after the Attachment row is
 * written and removed before it is deleted (see files/service.ts).
 */
export interface FileStore {
  put(id: string, bytes: Buffer): Promise<void>;
  /** Null when there are no bytes under the id. */
  get(id: string): Promise<Buffer | null>;
  remove(ids: string[]): Promise<void>;
}

/**
 * FILE_STORE=directory: files under DATA_DIR/files, for one instance (or several sharing the
 * directory); FILE_STORE=database: the AttachmentBlob table, which every instance reaches.
 */
export function createFileStore(settings: FileSettings, dataDir: string, prisma: PrismaClient): FileStore {
  return settings.store === 'database' ? databaseStore(prisma) : directoryStore(join(dataDir, 'files'));
}

function directoryStore(directory: string): FileStore {
  // Ids are UUIDs (checked by the callers' parseId): never a path of their own.
  const path = (id: string) => join(directory, id);
  return {
    async put(id, bytes) {
      await mkdir(directory, { recursive: true });
      await writeFile(path(id), bytes, { flag: 'wx' });
    },
    async get(id) {
      try {
        return await readFile(path(id));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
    },
    async remove(ids) {
      await Promise.all(ids.map((id) => rm(path(id), { force: true })));
    },
  };
}

function databaseStore(prisma: PrismaClient): FileStore {
  return {
    async put(id, bytes) {
      await prisma.attachmentBlob.create({ data: { attachmentId: id, data: new Uint8Array(bytes) } });
    },
    async get(id) {
      const blob = await prisma.attachmentBlob.findUnique({ where: { attachmentId: id } });
      return blob ? Buffer.from(blob.data) : null;
    },
    async remove(ids) {
      await prisma.attachmentBlob.deleteMany({ where: { attachmentId: { in: ids } } });
    },
  };
}
