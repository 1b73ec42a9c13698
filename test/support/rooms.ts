import assert from 'node:assert/strict';
import { decodeGlobalID } from '@pothos/plugin-relay';
import type { RoomEventPayload, Topic } from '../../src/realtime/topics.js';
import { graphql } from '../generated/gql.js';
import type { GraphQLResponse, TestServer } from './server.js';
import type { TestUser } from './users.js';

export const RoomsCreateRoom = graphql(`
  mutation RoomsCreateRoom($input: CreateRoomInput!) {
    createRoom(input: $input) {
      id
      kind
      name
      topic
      visibility
      memberCount
      myMembership {
        role
      }
    }
  }
`);

export const RoomsAddMembers = graphql(`
  mutation RoomsAddMembers($roomId: ID!, $userIds: [ID!]!) {
    addMembers(roomId: $roomId, userIds: $userIds) {
      role
      user {
        id
      }
    }
  }
`);

export const RoomsRoomMembers = graphql(`
  query RoomsRoomMembers($id: ID!, $first: Int, $after: String) {
    room(id: $id) {
      id
      members(first: $first, after: $after) {
        edges {
          cursor
          node {
            role
            joinedAt
            user {
              id
            }
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
`);

export const RoomsOpenDirect = graphql(`
  mutation RoomsOpenDirect($userId: ID!) {
    openDirectRoom(userId: $userId) {
      id
      kind
      name
      visibility
      memberCount
      myMembership {
        role
      }
    }
  }
`);

export const RoomsUpdate = graphql(`
  mutation RoomsUpdate($input: UpdateRoomInput!) {
    updateRoom(input: $input) {
      id
      name
      topic
      visibility
    }
  }
`);

export const RoomsDelete = graphql(`
  mutation RoomsDelete($roomId: ID!) {
    deleteRoom(roomId: $roomId)
  }
`);

export const RoomsJoin = graphql(`
  mutation RoomsJoin($roomId: ID!) {
    joinRoom(roomId: $roomId) {
      role
      joinedAt
      user {
        id
      }
      room {
        id
        memberCount
      }
    }
  }
`);

export const RoomsLeave = graphql(`
  mutation RoomsLeave($roomId: ID!) {
    leaveRoom(roomId: $roomId)
  }
`);

export const RoomsRemove = graphql(`
  mutation RoomsRemove($roomId: ID!, $userId: ID!) {
    removeMember(roomId: $roomId, userId: $userId)
  }
`);

export const RoomsSetRole = graphql(`
  mutation RoomsSetRole($roomId: ID!, $userId: ID!, $role: RoomRole!) {
    setMemberRole(roomId: $roomId, userId: $userId, role: $role) {
      role
      user {
        id
      }
    }
  }
`);

export const RoomsBan = graphql(`
  mutation RoomsBan($roomId: ID!, $userId: ID!, $reason: String) {
    banUser(roomId: $roomId, userId: $userId, reason: $reason)
  }
`);

export const RoomsUnban = graphql(`
  mutation RoomsUnban($roomId: ID!, $userId: ID!) {
    unbanUser(roomId: $roomId, userId: $userId)
  }
`);

export interface RoomCast {
  owner: TestUser;
  admins?: TestUser[];
  members?: TestUser[];
  banned?: TestUser[];
  visibility?: 'PUBLIC' | 'PRIVATE';
  name?: string;
}

/** A GROUP room with each user in the given role (banned users were members, then banned); returns its id. */
export async function roomWithCast(api: TestServer, cast: RoomCast): Promise<string> {
  const { owner, admins = [], members = [], banned = [] } = cast;
  const created = await api.ok(
    RoomsCreateRoom,
    {
      input: {
        name: cast.name ?? 'cast room',
        visibility: cast.visibility ?? 'PUBLIC',
        memberIds: [...admins, ...members, ...banned].map((user) => user.id),
      },
    },
    owner.token,
  );
  const roomId = created.createRoom.id;
  for (const admin of admins) await api.ok(RoomsSetRole, { roomId, userId: admin.id, role: 'ADMIN' }, owner.token);
  for (const user of banned) await api.ok(RoomsBan, { roomId, userId: user.id }, owner.token);
  return roomId;
}

/** The database id inside a global ID, as event payloads carry it. */
export const rawId = (globalId: string): string => decodeGlobalID(globalId).id;

/** The extensions.code of the first error; else 'NULL' when every root field is null, 'OK' otherwise. */
export function outcome(result: GraphQLResponse<unknown>): string {
  const code = result.errors?.[0]?.extensions?.code;
  if (code) return code;
  return Object.values(result.data ?? {}).every((value) => value === null) ? 'NULL' : 'OK';
}

export function assertCode(result: GraphQLResponse<unknown>, code: string, label?: string): void {
  assert.equal(outcome(result), code, `${label ?? 'result'}: ${JSON.stringify(result.errors)}`);
}

export interface EventLog {
  /** Waits until at least count events arrived (and a moment more, so extra ones show up); returns all so far. */
  settled(count: number): Promise<RoomEventPayload[]>;
  stop(): void;
}

/** Records what the server publishes on a topic, as a subscriber in another instance would receive it. */
export async function recordEvents(api: TestServer, topic: Topic<RoomEventPayload>): Promise<EventLog> {
  const events: RoomEventPayload[] = [];
  const stop = await api.server.app.bus.subscribe(topic, (payload) => events.push(payload));
  return {
    settled: async (count) => {
      const deadline = Date.now() + 3000;
      while (events.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      await new Promise((resolve) => setTimeout(resolve, 50));
      return [...events];
    },
    stop,
  };
}
