import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { print } from 'graphql';
import { signedFileUrl } from '../src/files/urls.js';
import { graphql } from './generated/gql.js';
import { createRoomWith } from './support/chat.js';
import { RoomsDelete, rawId } from './support/rooms.js';
import { startTestServer, TEST_JWT_SECRET, type GraphQLErrorJson, type TestServer } from './support/server.js';
import { createUser, type TestUser } from './support/users.js';
import { connectSocket, subscribeReady, type SocketClient } from './support/ws.js';

const FilesUpload = graphql(`
  mutation FilesUpload($roomId: ID!, $file: File!) {
    uploadAttachment(roomId: $roomId, file: $file) {
      id
      name
      contentType
      size
      width
      height
      url
    }
  }
`);

const FilesSend = graphql(`
  mutation FilesSend($input: SendMessageInput!) {
    sendMessage(input: $input) {
      id
      body
      attachments {
        id
        name
      }
    }
  }
`);

const FilesMessage = graphql(`
  query FilesMessage($id: ID!) {
    node(id: $id) {
      ... on Message {
        attachments {
          id
          url
        }
      }
    }
  }
`);

const FilesDelete = graphql(`
  mutation FilesDelete($messageId: ID!) {
    deleteMessage(messageId: $messageId) {
      attachments {
        id
      }
    }
  }
`);

const FilesEvents = graphql(`
  subscription FilesEvents($roomId: ID!) {
    roomEvents(roomId: $roomId) {
      __typename
      ... on MessageAdded {
        message {
          body
          attachments {
            name
            contentType
            width
            height
          }
        }
      }
    }
  }
`);

type Uploaded = { id: string; name: string; contentType: string; size: number; width: number | null; height: number | null; url: string };

/** A PNG header (signature and IHDR) of the given size: enough for the sniffer. */
function png(width: number, height: number): Uint8Array {
  const bytes = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]).copy(bytes);
  bytes.writeUInt32BE(width, 16);
  bytes.writeUInt32BE(height, 20);
  return bytes;
}

function gif(width: number, height: number): Uint8Array {
  const bytes = Buffer.alloc(13);
  bytes.write('GIF89a', 'latin1');
  bytes.writeUInt16LE(width, 6);
  bytes.writeUInt16LE(height, 8);
  return bytes;
}

/** uploadAttachment as a multipart request (the GraphQL multipart request spec), as a browser's FormData sends it. */
async function uploadOver(api: TestServer, user: TestUser, roomId: string, file: Blob, name: string) {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query: print(FilesUpload), variables: { roomId, file: null } }));
  form.append('map', JSON.stringify({ 0: ['variables.file'] }));
  form.append('0', file, name);
  const response = await fetch(api.url, { method: 'POST', body: form, headers: { authorization: `Bearer ${user.token}` } });
  const body = (await response.json()) as { data?: { uploadAttachment: Uploaded } | null; errors?: GraphQLErrorJson[] };
  return { status: response.status, attachment: body.data?.uploadAttachment, errors: body.errors };
}

for (const store of ['directory', 'database'] as const) {
  describe(`attachments (FILE_STORE=${store})`, () => {
    let api: TestServer;
    let origin: string;
    let alice: TestUser;
    let bob: TestUser;
    let eve: TestUser;
    let roomId: string;
    const sockets: SocketClient[] = [];

    const upload = (user: TestUser, bytes: Uint8Array, name: string, declaredType: string, room = roomId) =>
      uploadOver(api, user, room, new Blob([new Uint8Array(bytes)], { type: declaredType }), name);

    async function uploaded(user: TestUser, bytes: Uint8Array, name: string, declaredType = 'application/octet-stream') {
      const { attachment, errors } = await upload(user, bytes, name, declaredType);
      assert.equal(errors, undefined, JSON.stringify(errors));
      return attachment!;
    }

    const download = (path: string, token?: string) =>
      fetch(`${origin}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

    before(async () => {
      // MAX_FILE_BYTES small, so the too-large case needs no large body; each case uploads, past the default upload rate.
      api = await startTestServer({ env: { FILE_STORE: store, MAX_FILE_BYTES: '2000', UPLOAD_RATE: '1000/1m' } });
      origin = new URL(api.url).origin;
      alice = await createUser(api, 'alice');
      bob = await createUser(api, 'bob');
      eve = await createUser(api, 'eve');
      roomId = await createRoomWith(api, alice, [bob]);
    });

    after(async () => {
      await Promise.all(sockets.map((socket) => socket.dispose()));
      await api.close();
    });

    it('stores an upload with the type sniffed from its bytes and an image size, keeping only the name', async () => {
      const image = await uploaded(alice, png(640, 480), '../../etc/photo.png', 'text/plain');
      assert.deepEqual(
        { name: image.name, contentType: image.contentType, size: image.size, width: image.width, height: image.height },
        { name: 'photo.png', contentType: 'image/png', size: 33, width: 640, height: 480 },
      );
      const animation = await uploaded(alice, gif(16, 9), 'a.gif');
      assert.deepEqual([animation.contentType, animation.width, animation.height], ['image/gif', 16, 9]);
    });

    it('believes the bytes, not a lying declared type', async () => {
      const text = await uploaded(alice, new TextEncoder().encode('<script>alert(1)</script>'), 'evil.png', 'image/png');
      assert.deepEqual([text.contentType, text.width, text.height], ['text/plain', null, null]);
    });

    it('refuses types not allowed, empty files and files over MAX_FILE_BYTES', async () => {
      const binary = await upload(alice, new Uint8Array([0, 1, 2, 3, 0xfe, 0xff]), 'a.exe', 'image/png');
      assert.equal(binary.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
      assert.match(binary.errors![0]!.message, /application\/octet-stream/);
      const empty = await upload(alice, new Uint8Array(0), 'empty.txt', 'text/plain');
      assert.equal(empty.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
      const large = await upload(alice, new Uint8Array(2001).fill(0x61), 'big.txt', 'text/plain');
      assert.equal(large.errors?.[0]?.extensions?.code, 'PAYLOAD_TOO_LARGE');
      assert.match(large.errors![0]!.message, /2000 bytes/);
    });

    it('refuses uploads to a room the uploader is not a member of', async () => {
      const { errors } = await upload(eve, png(1, 1), 'x.png', 'image/png');
      assert.equal(errors?.[0]?.extensions?.code, 'NOT_FOUND');
      assert.equal(await api.server.app.prisma.attachment.count({ where: { uploaderId: rawId(eve.id) } }), 0);
    });

    it('refuses an upload over graphql-ws: files go over HTTP only', async () => {
      const socket = await connectSocket(api.wsUrl, alice.token);
      sockets.push(socket);
      const { errors } = await socket.execute(FilesUpload, { roomId, file: 'not a file' as unknown as File });
      assert.equal(errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    });

    it('attaches uploads to a message, seen on MessageAdded over graphql-ws, once only, and by their uploader only', async () => {
      const socket = await connectSocket(api.wsUrl, bob.token);
      sockets.push(socket);
      const events = await subscribeReady(api.server.app.bus, socket, FilesEvents, { roomId });
      const image = await uploaded(alice, png(3, 2), 'dot.png');
      const notes = await uploaded(alice, new TextEncoder().encode('notes'), 'notes.txt');
      const sent = await api.ok(FilesSend, { input: { roomId, body: 'look', attachmentIds: [image.id, notes.id] } }, alice.token);
      assert.deepEqual(sent.sendMessage.attachments.map((a) => a.name), ['dot.png', 'notes.txt']);
      const { data } = await events.next();
      assert.deepEqual(data!.roomEvents, {
        __typename: 'MessageAdded',
        message: {
          body: 'look',
          attachments: [
            { name: 'dot.png', contentType: 'image/png', width: 3, height: 2 },
            { name: 'notes.txt', contentType: 'text/plain', width: null, height: null },
          ],
        },
      });
      const again = await api.request(FilesSend, { input: { roomId, body: 'again', attachmentIds: [image.id] } }, alice.token);
      assert.equal(again.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
      const bobs = await api.request(FilesSend, { input: { roomId, body: 'mine', attachmentIds: [(await uploaded(alice, png(1, 1), 'a.png')).id] } }, bob.token);
      assert.equal(bobs.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    });

    it('sends a message of attachments alone over HTTP and graphql-ws; one of nothing is refused', async () => {
      const overHttp = await api.ok(FilesSend, { input: { roomId, attachmentIds: [(await uploaded(alice, png(1, 1), 'alone.png')).id] } }, alice.token);
      assert.equal(overHttp.sendMessage.body, null);
      assert.deepEqual(overHttp.sendMessage.attachments.map((a) => a.name), ['alone.png']);
      const socket = await connectSocket(api.wsUrl, alice.token);
      sockets.push(socket);
      const overSocket = await socket.execute(FilesSend, { input: { roomId, attachmentIds: [(await uploaded(alice, png(1, 1), 'ws.png')).id] } });
      assert.equal(overSocket.errors, undefined);
      assert.equal(overSocket.data?.sendMessage.body, null);
      assert.deepEqual(overSocket.data?.sendMessage.attachments.map((a) => a.name), ['ws.png']);
      for (const input of [{ roomId }, { roomId, attachmentIds: [] }]) {
        const refused = await api.request(FilesSend, { input }, alice.token);
        assert.equal(refused.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(input));
        const refusedOverSocket = await socket.execute(FilesSend, { input });
        assert.equal(refusedOverSocket.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(input));
      }
    });

    it('downloads with the signed URL or a member token, with safe headers; 404 for outsiders and unknown files alike', async () => {
      const image = await uploaded(alice, png(2, 2), 'naïve photo.png');
      const bytes = Buffer.from(png(2, 2));
      const signed = await download(image.url);
      assert.equal(signed.status, 200);
      assert.deepEqual(Buffer.from(await signed.arrayBuffer()), bytes);
      assert.equal(signed.headers.get('content-type'), 'image/png');
      assert.equal(signed.headers.get('content-disposition'), "inline; filename*=UTF-8''na%C3%AFve%20photo.png");
      assert.equal(signed.headers.get('x-content-type-options'), 'nosniff');
      assert.match(signed.headers.get('cache-control') ?? '', /^private/);
      const path = `/files/${rawId(image.id)}`;
      assert.equal((await download(path, bob.token)).status, 200);
      const text = await uploaded(alice, new TextEncoder().encode('hello'), 'hello.txt');
      assert.match((await download(text.url)).headers.get('content-disposition') ?? '', /^attachment; /);
      const outsider = await download(path, eve.token);
      const unknown = await download('/files/01900000-0000-7000-8000-000000000000', bob.token);
      const anonymous = await download(path);
      // Another first character of the signature, whatever it was.
      const tampered = await download(image.url.replace(/signature=(.)/, (_, first: string) => `signature=${first === 'A' ? 'B' : 'A'}`));
      assert.deepEqual([outsider.status, unknown.status, anonymous.status, tampered.status], [404, 404, 404, 404]);
      assert.equal(await outsider.text(), await unknown.text());
    });

    it('refuses a signed URL past its expiry', async () => {
      const image = await uploaded(alice, png(2, 2), 'old.png');
      const expired = signedFileUrl(new TextEncoder().encode(TEST_JWT_SECRET), rawId(image.id), -1);
      const response = await download(expired);
      assert.equal(response.status, 403);
      assert.match(await response.text(), /expired/);
    });

    it('deletes the files, bytes and rows, with their message', async () => {
      const image = await uploaded(alice, png(5, 5), 'gone.png');
      const sent = await api.ok(FilesSend, { input: { roomId, body: 'soon gone', attachmentIds: [image.id] } }, alice.token);
      const listed = await api.ok(FilesMessage, { id: sent.sendMessage.id }, bob.token);
      assert.ok(listed.node && 'attachments' in listed.node);
      const url = listed.node.attachments[0]!.url;
      assert.equal((await download(url)).status, 200);
      const deleted = await api.ok(FilesDelete, { messageId: sent.sendMessage.id }, alice.token);
      assert.deepEqual(deleted.deleteMessage.attachments, []);
      assert.equal((await download(url)).status, 404);
      const id = rawId(image.id);
      assert.equal(await api.server.app.prisma.attachment.count({ where: { id } }), 0);
      assert.equal(await api.server.app.files.get(id), null);
    });

    it('deletes the attachments of a deleted room', async () => {
      const doomed = await createRoomWith(api, alice, [bob]);
      const { attachment } = await upload(alice, png(1, 1), 'doomed.png', 'image/png', doomed);
      await api.ok(RoomsDelete, { roomId: doomed }, alice.token);
      assert.equal((await download(attachment!.url)).status, 404);
      assert.equal(await api.server.app.prisma.attachment.count({ where: { roomId: rawId(doomed) } }), 0);
    });
  });
}

describe('attachment upload rate', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer({ env: { UPLOAD_RATE: '1/1h' } });
  });
  after(() => api.close());

  it('counts uploads per user against UPLOAD_RATE', async () => {
    const alice = await createUser(api, 'alice');
    const roomId = await createRoomWith(api, alice, []);
    const codes: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { errors } = await uploadOver(api, alice, roomId, new Blob(['hello'], { type: 'text/plain' }), 'hello.txt');
      codes.push(errors?.[0]?.extensions?.code ?? 'OK');
    }
    assert.deepEqual(codes, ['OK', 'RATE_LIMITED']);
  });
});
