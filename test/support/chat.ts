import { graphql } from '../generated/gql.js';
import type { TestServer } from './server.js';
import type { TestUser } from './users.js';

const ChatCreateRoom = graphql(`
  mutation ChatCreateRoom($input: CreateRoomInput!) {
    createRoom(input: $input) {
      id
    }
  }
`);

const ChatSend = graphql(`
  mutation ChatSend($input: SendMessageInput!) {
    sendMessage(input: $input) {
      id
      seq
    }
  }
`);

/** A GROUP room owned by owner with the others as members; returns its id. */
export async function createRoomWith(api: Pick<TestServer, 'ok'>, owner: TestUser, members: TestUser[], visibility: 'PUBLIC' | 'PRIVATE' = 'PRIVATE'): Promise<string> {
  const data = await api.ok(
    ChatCreateRoom,
    { input: { name: `room ${Math.random().toString(36).slice(2, 8)}`, visibility, memberIds: members.map((member) => member.id) } },
    owner.token,
  );
  return data.createRoom.id;
}

/** Sends a message (a reply, with replyToId); returns its id and seq. */
export async function send(api: Pick<TestServer, 'ok'>, author: TestUser, roomId: string, body: string, replyToId?: string): Promise<{ id: string; seq: number }> {
  const data = await api.ok(ChatSend, { input: { roomId, body, replyToId } }, author.token);
  return data.sendMessage;
}
