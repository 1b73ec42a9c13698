import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { globalId } from '../src/ids.js';
import { schema } from '../src/schema.js';
import { graphql } from './generated/gql.js';
import { send } from './support/chat.js';
import {
  RoomsAddMembers,
  RoomsBan,
  RoomsDelete,
  RoomsJoin,
  RoomsLeave,
  RoomsOpenDirect,
  RoomsRemove,
  RoomsSetRole,
  RoomsUnban,
  RoomsUpdate,
  outcome,
  roomWithCast,
} from './support/rooms.js';
import { startTestServer, type GraphQLErrorJson, type GraphQLResponse, type TestServer } from './support/server.js';
import { createUser, type TestUser } from './support/users.js';
import { connectSocket, type SocketClient } from './support/ws.js';

/**
 * Every operation of the schema × every kind of caller × every kind of room, each cell with its exact
 * outcome: 'OK' (data), 'NULL' (every root field null, no error), an error code, or what the
 * operation reports of its data (LISTED, ONLINE, HIDDEN...). Queries and mutations go over HTTP, a
 * representative subset over graphql-ws too; subscriptions over graphql-ws.
 */

const AuthzMe = graphql(`
  query AuthzMe {
    me {
      id
    }
  }
`);

const AuthzRoom = graphql(`
  query AuthzRoom($id: ID!) {
    room(id: $id) {
      id
      name
    }
  }
`);

const AuthzRoomMessages = graphql(`
  query AuthzRoomMessages($id: ID!) {
    room(id: $id) {
      messages(last: 1) {
        edges {
          node {
            seq
          }
        }
      }
    }
  }
`);

const AuthzRoomMembers = graphql(`
  query AuthzRoomMembers($id: ID!) {
    room(id: $id) {
      members(first: 100) {
        edges {
          node {
            user {
              id
              presence {
                status
                lastSeenAt
              }
            }
          }
        }
      }
    }
  }
`);

const AuthzNode = graphql(`
  query AuthzNode($id: ID!) {
    node(id: $id) {
      id
      ... on User {
        presence {
          status
          lastSeenAt
        }
      }
    }
  }
`);

const AuthzUser = graphql(`
  query AuthzUser($id: ID!) {
    user(id: $id) {
      id
      presence {
        status
        lastSeenAt
      }
    }
  }
`);

const AuthzUsers = graphql(`
  query AuthzUsers($search: String!) {
    users(search: $search) {
      edges {
        node {
          id
          presence {
            status
            lastSeenAt
          }
        }
      }
    }
  }
`);

const AuthzRooms = graphql(`
  query AuthzRooms($kind: RoomKind) {
    rooms(first: 100, kind: $kind) {
      edges {
        node {
          id
        }
      }
    }
  }
`);

const AuthzPublicRooms = graphql(`
  query AuthzPublicRooms($search: String!) {
    publicRooms(search: $search) {
      edges {
        node {
          id
        }
      }
    }
  }
`);

const AuthzSearch = graphql(`
  query AuthzSearch($query: String!, $roomId: ID) {
    searchMessages(query: $query, roomId: $roomId) {
      edges {
        node {
          message {
            room {
              id
            }
          }
        }
      }
    }
  }
`);

const AuthzSend = graphql(`
  mutation AuthzSend($roomId: ID!) {
    sendMessage(input: { roomId: $roomId, body: "matrix" }) {
      id
    }
  }
`);

const AuthzUpload = graphql(`
  mutation AuthzUpload($roomId: ID!, $file: File!) {
    uploadAttachment(roomId: $roomId, file: $file) {
      id
      url
    }
  }
`);

const AuthzAttach = graphql(`
  mutation AuthzAttach($roomId: ID!, $attachmentId: ID!) {
    sendMessage(input: { roomId: $roomId, body: "matrix attachment", attachmentIds: [$attachmentId] }) {
      id
    }
  }
`);

const AuthzReply = graphql(`
  mutation AuthzReply($roomId: ID!, $replyToId: ID!) {
    sendMessage(input: { roomId: $roomId, body: "matrix reply", replyToId: $replyToId }) {
      id
    }
  }
`);

const AuthzThread = graphql(`
  query AuthzThread($id: ID!) {
    node(id: $id) {
      ... on Message {
        thread {
          replyCount
          replies(first: 5) {
            edges {
              node {
                id
              }
            }
          }
        }
      }
    }
  }
`);

const AuthzEdit = graphql(`
  mutation AuthzEdit($messageId: ID!) {
    editMessage(messageId: $messageId, body: "edited") {
      id
    }
  }
`);

const AuthzDeleteMessage = graphql(`
  mutation AuthzDeleteMessage($messageId: ID!) {
    deleteMessage(messageId: $messageId) {
      id
      deletedAt
    }
  }
`);

const AuthzReact = graphql(`
  mutation AuthzReact($messageId: ID!) {
    addReaction(messageId: $messageId, emoji: "👍") {
      id
    }
  }
`);

const AuthzUnreact = graphql(`
  mutation AuthzUnreact($messageId: ID!) {
    removeReaction(messageId: $messageId, emoji: "👍") {
      id
    }
  }
`);

const AuthzMarkRead = graphql(`
  mutation AuthzMarkRead($roomId: ID!) {
    markRead(roomId: $roomId, seq: 1) {
      lastReadSeq
    }
  }
`);

const AuthzTyping = graphql(`
  mutation AuthzTyping($roomId: ID!) {
    setTyping(roomId: $roomId, typing: false)
  }
`);

const AuthzCreateRoom = graphql(`
  mutation AuthzCreateRoom {
    createRoom(input: { name: "made in the matrix" }) {
      id
    }
  }
`);

const AuthzUpdateProfile = graphql(`
  mutation AuthzUpdateProfile {
    updateProfile(displayName: "Matrix") {
      id
    }
  }
`);

const AuthzSignUp = graphql(`
  mutation AuthzSignUp($username: String!) {
    signUp(input: { username: $username, password: "correct horse battery" }) {
      token
    }
  }
`);

const AuthzLogIn = graphql(`
  mutation AuthzLogIn($username: String!) {
    logIn(input: { username: $username, password: "correct horse battery" }) {
      token
    }
  }
`);

const AuthzSessions = graphql(`
  query AuthzSessions {
    sessions(first: 1) {
      edges {
        node {
          id
        }
      }
    }
  }
`);

const AuthzBlockedUsers = graphql(`
  query AuthzBlockedUsers {
    blockedUsers(first: 1) {
      edges {
        node {
          id
        }
      }
    }
  }
`);

const AuthzLogOut = graphql(`
  mutation AuthzLogOut {
    logOut
  }
`);

const AuthzLogOutEverywhere = graphql(`
  mutation AuthzLogOutEverywhere {
    logOutEverywhere(includingThisOne: true)
  }
`);

const AuthzEndSession = graphql(`
  mutation AuthzEndSession($id: ID!) {
    endSession(id: $id)
  }
`);

const AuthzChangePassword = graphql(`
  mutation AuthzChangePassword {
    changePassword(currentPassword: "correct horse battery", newPassword: "another horse battery") {
      id
    }
  }
`);

const AuthzChangeUsername = graphql(`
  mutation AuthzChangeUsername($username: String!) {
    changeUsername(username: $username) {
      id
    }
  }
`);

const AuthzBlockUser = graphql(`
  mutation AuthzBlockUser($userId: ID!) {
    blockUser(userId: $userId) {
      id
    }
  }
`);

const AuthzUnblockUser = graphql(`
  mutation AuthzUnblockUser($userId: ID!) {
    unblockUser(userId: $userId) {
      id
    }
  }
`);

const AuthzDeleteAccount = graphql(`
  mutation AuthzDeleteAccount {
    deleteAccount(password: "correct horse battery")
  }
`);

const AuthzLogInWithIdToken = graphql(`
  mutation AuthzLogInWithIdToken {
    logInWithIdToken(idToken: "not.an.idtoken") {
      token
    }
  }
`);

const AuthzMessageAdded = graphql(`
  subscription AuthzMessageAdded($roomId: ID!) {
    messageAdded(roomId: $roomId, afterSeq: 0) {
      seq
    }
  }
`);

const AuthzRoomEvents = graphql(`
  subscription AuthzRoomEvents($roomId: ID!) {
    roomEvents(roomId: $roomId) {
      __typename
    }
  }
`);

const AuthzPresenceChanged = graphql(`
  subscription AuthzPresenceChanged($roomId: ID) {
    presenceChanged(roomId: $roomId) {
      user {
        id
      }
    }
  }
`);

const AuthzMyEvents = graphql(`
  subscription AuthzMyEvents {
    myEvents {
      __typename
    }
  }
`);

const CALLERS = ['anonymous', 'outsider', 'banned', 'member', 'admin', 'owner'] as const;
type Caller = (typeof CALLERS)[number];
const KINDS = ['PUBLIC', 'PRIVATE', 'DIRECT'] as const;
type Kind = (typeof KINDS)[number];
/** DIRECT rooms have two members and no roles: the other callers don't apply there. */
const DIRECT_CALLERS: readonly Caller[] = ['anonymous', 'outsider', 'member'];

type Call = <Data, Variables>(document: TypedDocumentNode<Data, Variables>, variables?: Variables) => Promise<GraphQLResponse<Data>>;

/** One room of the matrix and who is who in it. */
interface RoomFixture {
  kind: Kind;
  roomId: string;
  name: string;
  /** Someone in the room besides the callers, online throughout: whose presence the callers ask for. */
  witness: TestUser;
  /** Whose messages and membership a caller acts on: a MEMBER, an ADMIN and the OWNER (group rooms only). */
  target: { member: TestUser; admin?: TestUser; owner?: TestUser };
}

interface Cell {
  caller: Caller;
  user: TestUser | undefined;
  room: RoomFixture;
  call: Call;
}

type Row = Partial<Record<Caller, string>>;
/**
 * Expected outcomes per caller, with a row of exceptions for a kind of room where it differs.
 * 'NON_MEMBER' stands for the answer a room's non-member gets (see nonMember).
 */
type Expected = Row & Partial<Record<Kind, Row>>;

interface Operation {
  name: string;
  /** The room kinds it applies to; [] for operations on no room (run once per caller). */
  kinds?: readonly Kind[];
  run(cell: Cell): Promise<string>;
  expected: Expected;
  /** Also run over graphql-ws. */
  ws?: boolean;
}

/** A PRIVATE (or DIRECT) room does not exist for non-members; a PUBLIC one is visible but closed. */
const nonMember = (kind: Kind) => (kind === 'PUBLIC' ? 'FORBIDDEN' : 'NOT_FOUND');

const NON_MEMBER = 'NON_MEMBER';
/** Room operations for members only, whatever their role. */
const membersOnly = { anonymous: 'UNAUTHENTICATED', outsider: NON_MEMBER, banned: NON_MEMBER };
const byRole = (member: string, admin: string, owner: string) => ({ member, admin, owner });
/** Every signed-in caller. */
const signedIn = (value: string) => ({ outsider: value, banned: value, ...byRole(value, value, value) });
/** room(id) is null, without an error, for a room the caller may not see. */
const unseen = { outsider: 'NULL', banned: 'NULL' };
const GROUPS = ['PUBLIC', 'PRIVATE'] as const;
const NO_ROOM: readonly Kind[] = [];

/** The outcome of a presence: ONLINE, OFFLINE with or without lastSeenAt, or HIDDEN (OFFLINE, never seen). */
function presenceOutcome(response: GraphQLResponse<unknown>, presence: { status: string; lastSeenAt?: unknown } | undefined) {
  if (response.errors || !presence) return outcome(response);
  if (presence.status === 'ONLINE') return 'ONLINE';
  return presence.lastSeenAt ? 'OFFLINE_SEEN' : 'HIDDEN';
}

const errorCode = (errors: readonly GraphQLErrorJson[] | undefined) => errors?.[0]?.extensions?.code ?? 'NO_CODE';

describe('authorization matrix', () => {
  let api: TestServer;
  const users = {} as Record<Exclude<Caller, 'anonymous'>, TestUser>;
  let victimMember: TestUser;
  let victimAdmin: TestUser;
  let extra: TestUser;
  let loner: TestUser;
  const rooms = {} as Record<Kind, RoomFixture>;
  const witnessSockets: SocketClient[] = [];

  /** A fresh group room cast like the fixture rooms, for operations that use the room up (leave, delete, join). */
  const freshRoom = async (kind: 'PUBLIC' | 'PRIVATE') =>
    roomWithCast(api, {
      owner: users.owner,
      admins: [users.admin],
      members: [users.member],
      banned: [users.banned],
      visibility: kind,
    });

  /** As the owner: the user back in the room with this role, unbanned. */
  async function restore(roomId: string, user: TestUser, role: 'MEMBER' | 'ADMIN') {
    const owner = users.owner.token;
    await api.ok(RoomsUnban, { roomId, userId: user.id }, owner);
    await api.ok(RoomsAddMembers, { roomId, userIds: [user.id] }, owner);
    await api.ok(RoomsSetRole, { roomId, userId: user.id, role }, owner);
  }

  /**
   * Account operations that would spoil the caller's session, password or name for the cells after
   * them run as a fresh user of the caller's (any signed-in caller is alike for them).
   */
  async function asFreshUser<Data, Variables>({ caller }: Cell, document: TypedDocumentNode<Data, Variables>, variables?: Variables) {
    const token = caller === 'anonymous' ? undefined : (await createUser(api, caller)).token;
    return outcome(await api.request(document, variables, token));
  }

  /** uploadAttachment of a small text file as a multipart request (files cannot go over graphql-ws). */
  async function upload(roomId: string, token: string | undefined) {
    const form = new FormData();
    form.append('operations', JSON.stringify({ query: print(AuthzUpload), variables: { roomId, file: null } }));
    form.append('map', JSON.stringify({ 0: ['variables.file'] }));
    form.append('0', new Blob(['matrix'], { type: 'text/plain' }), 'matrix.txt');
    const response = await fetch(api.url, { method: 'POST', body: form, headers: token ? { authorization: `Bearer ${token}` } : {} });
    const body = (await response.json()) as { data?: { uploadAttachment: { id: string; url: string } | null }; errors?: GraphQLErrorJson[] };
    return { status: response.status, data: body.data, errors: body.errors };
  }
  /** A new upload of author's to the room. */
  const uploadOf = async (room: RoomFixture, author: TestUser) => (await upload(room.roomId, author.token)).data!.uploadAttachment!;

  /** A new message of author's in the room. */
  const messageOf = async (room: RoomFixture, author: TestUser) => (await send(api, author, room.roomId, 'target')).id;
  /** The caller's own message when they are a member; else a member's (which they may not touch). */
  const ownMessage = ({ caller, user, room }: Cell) =>
    messageOf(room, user && ['member', 'admin', 'owner'].includes(caller) ? user : room.target.member);

  const operations: Operation[] = [
    // Queries.
    { name: 'me', kinds: NO_ROOM, run: async ({ call }) => outcome(await call(AuthzMe)), expected: { anonymous: 'NULL', ...signedIn('OK') } },
    {
      name: 'room(id)',
      ws: true,
      run: async ({ call, room }) => outcome(await call(AuthzRoom, { id: room.roomId })),
      expected: { anonymous: 'UNAUTHENTICATED', ...signedIn('OK'), PRIVATE: unseen, DIRECT: unseen },
    },
    {
      name: 'Room.messages',
      run: async ({ call, room }) => outcome(await call(AuthzRoomMessages, { id: room.roomId })),
      expected: { ...membersOnly, ...byRole('OK', 'OK', 'OK'), PRIVATE: unseen, DIRECT: unseen },
    },
    {
      name: 'Room.members.user.presence',
      run: async ({ call, room }) => {
        const response = await call(AuthzRoomMembers, { id: room.roomId });
        const witness = response.data?.room?.members.edges.find(({ node }) => node.user.id === room.witness.id);
        return presenceOutcome(response, witness?.node.user.presence);
      },
      expected: { ...membersOnly, ...byRole('ONLINE', 'ONLINE', 'ONLINE'), PRIVATE: unseen, DIRECT: unseen },
    },
    {
      name: 'node(room)',
      run: async ({ call, room }) => outcome(await call(AuthzNode, { id: room.roomId })),
      expected: { anonymous: 'NULL', ...signedIn('OK'), PRIVATE: unseen, DIRECT: unseen },
    },
    {
      name: 'node(message)',
      ws: true,
      run: async ({ call, room }) => outcome(await call(AuthzNode, { id: await messageOf(room, room.target.member) })),
      expected: { anonymous: 'NULL', outsider: 'NULL', banned: 'NULL', ...byRole('OK', 'OK', 'OK') },
    },
    {
      name: 'node(message).thread',
      ws: true,
      run: async ({ call, room }) => {
        const rootId = await messageOf(room, room.target.member);
        await api.ok(AuthzReply, { roomId: room.roomId, replyToId: rootId }, room.witness.token);
        return outcome(await call(AuthzThread, { id: rootId }));
      },
      expected: { anonymous: 'NULL', outsider: 'NULL', banned: 'NULL', ...byRole('OK', 'OK', 'OK') },
    },
    {
      name: 'node(user).presence',
      run: async ({ call, room }) => {
        const response = await call(AuthzNode, { id: room.witness.id });
        const node = response.data?.node;
        return presenceOutcome(response, node && 'presence' in node ? node.presence : undefined);
      },
      expected: { anonymous: 'NULL', outsider: 'HIDDEN', banned: 'HIDDEN', ...byRole('ONLINE', 'ONLINE', 'ONLINE') },
    },
    {
      name: 'user(id).presence',
      ws: true,
      run: async ({ call, room }) => {
        const response = await call(AuthzUser, { id: room.witness.id });
        return presenceOutcome(response, response.data?.user?.presence);
      },
      expected: { anonymous: 'UNAUTHENTICATED', outsider: 'HIDDEN', banned: 'HIDDEN', ...byRole('ONLINE', 'ONLINE', 'ONLINE') },
    },
    {
      name: 'users(search).presence',
      run: async ({ call, room }) => {
        const response = await call(AuthzUsers, { search: room.witness.username });
        return presenceOutcome(response, response.data?.users.edges[0]?.node.presence);
      },
      expected: { anonymous: 'UNAUTHENTICATED', outsider: 'HIDDEN', banned: 'HIDDEN', ...byRole('ONLINE', 'ONLINE', 'ONLINE') },
    },
    {
      name: 'rooms',
      run: async ({ call, room }) => {
        const response = await call(AuthzRooms, { kind: room.kind === 'DIRECT' ? 'DIRECT' : 'GROUP' });
        if (response.errors) return outcome(response);
        return response.data?.rooms.edges.some(({ node }) => node.id === room.roomId) ? 'LISTED' : 'UNLISTED';
      },
      expected: { anonymous: 'UNAUTHENTICATED', outsider: 'UNLISTED', banned: 'UNLISTED', ...byRole('LISTED', 'LISTED', 'LISTED') },
    },
    {
      name: 'publicRooms',
      run: async ({ call, room }) => {
        const response = await call(AuthzPublicRooms, { search: room.name });
        if (response.errors) return outcome(response);
        return response.data?.publicRooms.edges.some(({ node }) => node.id === room.roomId) ? 'LISTED' : 'UNLISTED';
      },
      expected: { anonymous: 'UNAUTHENTICATED', ...signedIn('LISTED'), PRIVATE: signedIn('UNLISTED'), DIRECT: signedIn('UNLISTED') },
    },
    {
      name: 'searchMessages',
      ws: true,
      run: async ({ call, room }) => {
        // Every fixture room's first message is "first": FOUND when the room's is among the hits.
        const response = await call(AuthzSearch, { query: 'first' });
        if (response.errors) return outcome(response);
        return response.data?.searchMessages.edges.some(({ node }) => node.message.room.id === room.roomId) ? 'FOUND' : 'UNFOUND';
      },
      expected: { anonymous: 'UNAUTHENTICATED', outsider: 'UNFOUND', banned: 'UNFOUND', ...byRole('FOUND', 'FOUND', 'FOUND') },
    },
    {
      name: 'searchMessages(roomId)',
      run: async ({ call, room }) => outcome(await call(AuthzSearch, { query: 'first', roomId: room.roomId })),
      expected: { ...membersOnly, ...byRole('OK', 'OK', 'OK') },
    },
    // Messages.
    {
      name: 'sendMessage',
      ws: true,
      run: async ({ call, room }) => outcome(await call(AuthzSend, { roomId: room.roomId })),
      expected: { ...membersOnly, ...byRole('OK', 'OK', 'OK') },
    },
    {
      name: 'uploadAttachment',
      run: async ({ user, room }) => outcome(await upload(room.roomId, user?.token)),
      expected: { ...membersOnly, ...byRole('OK', 'OK', 'OK') },
    },
    {
      // The file's bare path with the caller's token (the signed URL is for whoever holds it).
      name: 'uploadAttachment(GET /files/<id>)',
      run: async ({ user, room }) => {
        const { url } = await uploadOf(room, room.target.member);
        const response = await fetch(new URL(url.split('?')[0]!, api.url), user ? { headers: { authorization: `Bearer ${user.token}` } } : {});
        return response.status === 200 ? 'OK' : String(response.status);
      },
      expected: { anonymous: '404', outsider: '404', banned: '404', ...byRole('OK', 'OK', 'OK') },
    },
    {
      name: "sendMessage(a member's attachment)",
      run: async ({ call, room }) => outcome(await call(AuthzAttach, { roomId: room.roomId, attachmentId: (await uploadOf(room, room.target.member)).id })),
      expected: { ...membersOnly, ...byRole('BAD_USER_INPUT', 'BAD_USER_INPUT', 'BAD_USER_INPUT') },
    },
    {
      name: 'sendMessage(reply)',
      run: async ({ call, room }) =>
        outcome(await call(AuthzReply, { roomId: room.roomId, replyToId: await messageOf(room, room.target.member) })),
      expected: { ...membersOnly, ...byRole('OK', 'OK', 'OK') },
    },
    {
      name: 'editMessage(own)',
      run: async (cell) => outcome(await cell.call(AuthzEdit, { messageId: await ownMessage(cell) })),
      expected: { ...membersOnly, ...byRole('OK', 'OK', 'OK') },
    },
    {
      name: "editMessage(a member's)",
      run: async ({ call, room }) => outcome(await call(AuthzEdit, { messageId: await messageOf(room, room.target.member) })),
      expected: { ...membersOnly, ...byRole('FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN') },
    },
    {
      name: 'deleteMessage(own)',
      run: async (cell) => outcome(await cell.call(AuthzDeleteMessage, { messageId: await ownMessage(cell) })),
      expected: { ...membersOnly, ...byRole('OK', 'OK', 'OK') },
    },
    {
      name: "deleteMessage(a member's)",
      run: async ({ call, room }) => outcome(await call(AuthzDeleteMessage, { messageId: await messageOf(room, room.target.member) })),
      expected: { ...membersOnly, ...byRole('FORBIDDEN', 'OK', 'OK') },
    },
    {
      name: "deleteMessage(an admin's)",
      kinds: GROUPS,
      ws: true,
      run: async ({ call, room }) => outcome(await call(AuthzDeleteMessage, { messageId: await messageOf(room, room.target.admin!) })),
      expected: { ...membersOnly, ...byRole('FORBIDDEN', 'FORBIDDEN', 'OK') },
    },
    {
      name: "deleteMessage(the owner's)",
      kinds: GROUPS,
      run: async ({ call, room }) => outcome(await call(AuthzDeleteMessage, { messageId: await messageOf(room, room.target.owner!) })),
      expected: { ...membersOnly, ...byRole('FORBIDDEN', 'FORBIDDEN', 'OK') },
    },
    {
      name: 'addReaction',
      run: async ({ call, room }) => outcome(await call(AuthzReact, { messageId: await messageOf(room, room.target.member) })),
      expected: { ...membersOnly, ...byRole('OK', 'OK', 'OK') },
    },
    {
      name: 'removeReaction',
      run: async ({ call, room }) => {
        const messageId = await messageOf(room, room.target.member);
        await api.ok(AuthzReact, { messageId }, room.target.member.token);
        return outcome(await call(AuthzUnreact, { messageId }));
      },
      expected: { ...membersOnly, ...byRole('OK', 'OK', 'OK') },
    },
    {
      name: 'markRead',
      run: async ({ call, room }) => outcome(await call(AuthzMarkRead, { roomId: room.roomId })),
      expected: { ...membersOnly, ...byRole('OK', 'OK', 'OK') },
    },
    {
      name: 'setTyping',
      run: async ({ call, room }) => outcome(await call(AuthzTyping, { roomId: room.roomId })),
      expected: { ...membersOnly, ...byRole('OK', 'OK', 'OK') },
    },
    // Rooms and membership. Operations that use the room up run in a fresh one (the direct room can't be used up).
    {
      name: 'joinRoom',
      run: async ({ call, room }) =>
        outcome(await call(RoomsJoin, { roomId: room.kind === 'DIRECT' ? room.roomId : await freshRoom(room.kind) })),
      expected: {
        anonymous: 'UNAUTHENTICATED',
        outsider: 'OK',
        banned: 'FORBIDDEN',
        ...byRole('OK', 'OK', 'OK'),
        PRIVATE: { outsider: 'NOT_FOUND', banned: 'NOT_FOUND' },
        DIRECT: { outsider: 'NOT_FOUND' },
      },
    },
    {
      name: 'leaveRoom',
      run: async ({ call, room }) =>
        outcome(await call(RoomsLeave, { roomId: room.kind === 'DIRECT' ? room.roomId : await freshRoom(room.kind) })),
      expected: { ...membersOnly, ...byRole('OK', 'OK', 'OK'), DIRECT: { member: 'BAD_USER_INPUT' } },
    },
    {
      name: 'deleteRoom',
      run: async ({ call, room }) =>
        outcome(await call(RoomsDelete, { roomId: room.kind === 'DIRECT' ? room.roomId : await freshRoom(room.kind) })),
      expected: { ...membersOnly, ...byRole('FORBIDDEN', 'FORBIDDEN', 'OK'), DIRECT: { member: 'BAD_USER_INPUT' } },
    },
    {
      name: 'updateRoom',
      run: async ({ call, room }) => outcome(await call(RoomsUpdate, { input: { roomId: room.roomId, topic: 'matrix' } })),
      expected: { ...membersOnly, ...byRole('FORBIDDEN', 'OK', 'OK'), DIRECT: { member: 'BAD_USER_INPUT' } },
    },
    {
      name: 'addMembers',
      run: async ({ call, room }) => outcome(await call(RoomsAddMembers, { roomId: room.roomId, userIds: [extra.id] })),
      expected: { ...membersOnly, ...byRole('FORBIDDEN', 'OK', 'OK'), DIRECT: { member: 'BAD_USER_INPUT' } },
    },
    {
      name: 'removeMember(a member)',
      run: async ({ call, room }) => {
        if (room.kind !== 'DIRECT') await restore(room.roomId, victimMember, 'MEMBER');
        return outcome(await call(RoomsRemove, { roomId: room.roomId, userId: room.target.member.id }));
      },
      expected: { ...membersOnly, ...byRole('FORBIDDEN', 'OK', 'OK'), DIRECT: { member: 'BAD_USER_INPUT' } },
    },
    {
      name: 'removeMember(an admin)',
      kinds: GROUPS,
      ws: true,
      run: async ({ call, room }) => {
        await restore(room.roomId, victimAdmin, 'ADMIN');
        return outcome(await call(RoomsRemove, { roomId: room.roomId, userId: victimAdmin.id }));
      },
      expected: { ...membersOnly, ...byRole('FORBIDDEN', 'FORBIDDEN', 'OK') },
    },
    {
      name: 'removeMember(the owner)',
      kinds: GROUPS,
      run: async ({ call, room }) => outcome(await call(RoomsRemove, { roomId: room.roomId, userId: users.owner.id })),
      // The owner removing themself is told to use leaveRoom.
      expected: { ...membersOnly, ...byRole('FORBIDDEN', 'FORBIDDEN', 'BAD_USER_INPUT') },
    },
    {
      name: 'setMemberRole',
      run: async ({ call, room }) => {
        if (room.kind !== 'DIRECT') await restore(room.roomId, victimMember, 'MEMBER');
        return outcome(await call(RoomsSetRole, { roomId: room.roomId, userId: room.target.member.id, role: 'ADMIN' }));
      },
      expected: { ...membersOnly, ...byRole('FORBIDDEN', 'FORBIDDEN', 'OK'), DIRECT: { member: 'BAD_USER_INPUT' } },
    },
    {
      name: 'banUser(a member)',
      run: async ({ call, room }) => {
        if (room.kind !== 'DIRECT') await restore(room.roomId, victimMember, 'MEMBER');
        return outcome(await call(RoomsBan, { roomId: room.roomId, userId: room.target.member.id }));
      },
      expected: { ...membersOnly, ...byRole('FORBIDDEN', 'OK', 'OK'), DIRECT: { member: 'BAD_USER_INPUT' } },
    },
    {
      name: 'banUser(an admin)',
      kinds: GROUPS,
      run: async ({ call, room }) => {
        await restore(room.roomId, victimAdmin, 'ADMIN');
        return outcome(await call(RoomsBan, { roomId: room.roomId, userId: victimAdmin.id }));
      },
      expected: { ...membersOnly, ...byRole('FORBIDDEN', 'FORBIDDEN', 'OK') },
    },
    {
      name: 'unbanUser',
      run: async ({ call, room }) => {
        if (room.kind !== 'DIRECT') await api.ok(RoomsBan, { roomId: room.roomId, userId: victimMember.id }, users.owner.token);
        return outcome(await call(RoomsUnban, { roomId: room.roomId, userId: room.target.member.id }));
      },
      expected: { ...membersOnly, ...byRole('FORBIDDEN', 'OK', 'OK'), DIRECT: { member: 'BAD_USER_INPUT' } },
    },
    // On no room.
    {
      name: 'createRoom',
      kinds: NO_ROOM,
      run: async ({ call }) => outcome(await call(AuthzCreateRoom)),
      expected: { anonymous: 'UNAUTHENTICATED', ...signedIn('OK') },
    },
    {
      name: 'openDirectRoom',
      kinds: NO_ROOM,
      run: async ({ call }) => outcome(await call(RoomsOpenDirect, { userId: loner.id })),
      expected: { anonymous: 'UNAUTHENTICATED', ...signedIn('OK') },
    },
    {
      name: 'updateProfile',
      kinds: NO_ROOM,
      run: async ({ call }) => outcome(await call(AuthzUpdateProfile)),
      expected: { anonymous: 'UNAUTHENTICATED', ...signedIn('OK') },
    },
    {
      name: 'sessions',
      kinds: NO_ROOM,
      ws: true,
      run: async ({ call }) => outcome(await call(AuthzSessions)),
      expected: { anonymous: 'UNAUTHENTICATED', ...signedIn('OK') },
    },
    {
      name: 'blockedUsers',
      kinds: NO_ROOM,
      ws: true,
      run: async ({ call }) => outcome(await call(AuthzBlockedUsers)),
      expected: { anonymous: 'UNAUTHENTICATED', ...signedIn('OK') },
    },
    {
      name: 'endSession(of another user)',
      kinds: NO_ROOM,
      ws: true,
      run: async ({ call }) => {
        const lonerSession = (await api.ok(AuthzSessions, {}, loner.token)).sessions.edges[0]!.node.id;
        return outcome(await call(AuthzEndSession, { id: lonerSession }));
      },
      expected: { anonymous: 'UNAUTHENTICATED', ...signedIn('NOT_FOUND') },
    },
    {
      name: 'blockUser',
      kinds: NO_ROOM,
      ws: true,
      run: async ({ call }) => outcome(await call(AuthzBlockUser, { userId: extra.id })),
      expected: { anonymous: 'UNAUTHENTICATED', ...signedIn('OK') },
    },
    {
      name: 'unblockUser',
      kinds: NO_ROOM,
      ws: true,
      run: async ({ call }) => outcome(await call(AuthzUnblockUser, { userId: extra.id })),
      expected: { anonymous: 'UNAUTHENTICATED', ...signedIn('OK') },
    },
    { name: 'logOut', kinds: NO_ROOM, run: (cell) => asFreshUser(cell, AuthzLogOut), expected: { anonymous: 'UNAUTHENTICATED', ...signedIn('OK') } },
    {
      name: 'logOutEverywhere',
      kinds: NO_ROOM,
      run: (cell) => asFreshUser(cell, AuthzLogOutEverywhere),
      expected: { anonymous: 'UNAUTHENTICATED', ...signedIn('OK') },
    },
    {
      name: 'changePassword',
      kinds: NO_ROOM,
      run: (cell) => asFreshUser(cell, AuthzChangePassword),
      expected: { anonymous: 'UNAUTHENTICATED', ...signedIn('OK') },
    },
    {
      name: 'changeUsername',
      kinds: NO_ROOM,
      run: (cell) => asFreshUser(cell, AuthzChangeUsername, { username: `renamed_${randomUUID().slice(0, 8)}` }),
      expected: { anonymous: 'UNAUTHENTICATED', ...signedIn('OK') },
    },
    {
      name: 'deleteAccount',
      kinds: NO_ROOM,
      run: (cell) => asFreshUser(cell, AuthzDeleteAccount),
      expected: { anonymous: 'UNAUTHENTICATED', ...signedIn('OK') },
    },
    {
      // No identity provider is configured here: everyone is refused alike (see identity-provider.test.ts).
      name: 'logInWithIdToken',
      kinds: NO_ROOM,
      run: async ({ call }) => outcome(await call(AuthzLogInWithIdToken)),
      expected: { anonymous: 'UNAUTHENTICATED', ...signedIn('UNAUTHENTICATED') },
    },
    {
      name: 'signUp',
      kinds: NO_ROOM,
      run: async ({ call, caller }) => outcome(await call(AuthzSignUp, { username: `${caller}_${randomUUID().slice(0, 8)}` })),
      expected: { anonymous: 'OK', ...signedIn('OK') },
    },
    {
      name: 'logIn',
      kinds: NO_ROOM,
      run: async ({ call }) => outcome(await call(AuthzLogIn, { username: loner.username })),
      expected: { anonymous: 'OK', ...signedIn('OK') },
    },
  ];

  /** Subscriptions: OK when the first event comes (messageAdded replays the room's history), LISTENING once the server listens. */
  const subscriptions: Operation[] = [
    {
      name: 'messageAdded',
      run: (cell) => subscriptionOutcome(cell, AuthzMessageAdded, { roomId: cell.room.roomId }, 'event'),
      expected: { ...membersOnly, ...byRole('OK', 'OK', 'OK') },
    },
    {
      name: 'roomEvents',
      run: (cell) => subscriptionOutcome(cell, AuthzRoomEvents, { roomId: cell.room.roomId }, 'listening'),
      expected: { ...membersOnly, ...byRole('LISTENING', 'LISTENING', 'LISTENING') },
    },
    {
      name: 'presenceChanged(roomId)',
      run: (cell) => subscriptionOutcome(cell, AuthzPresenceChanged, { roomId: cell.room.roomId }, 'listening'),
      expected: { ...membersOnly, ...byRole('LISTENING', 'LISTENING', 'LISTENING') },
    },
    {
      name: 'presenceChanged',
      kinds: NO_ROOM,
      run: (cell) => subscriptionOutcome(cell, AuthzPresenceChanged, {}, 'listening'),
      expected: { anonymous: 'UNAUTHENTICATED', ...signedIn('LISTENING') },
    },
    {
      name: 'myEvents',
      kinds: NO_ROOM,
      run: (cell) => subscriptionOutcome(cell, AuthzMyEvents, {}, 'listening'),
      expected: { anonymous: 'UNAUTHENTICATED', ...signedIn('LISTENING') },
    },
  ];

  const sockets = new Map<Caller, SocketClient>();

  async function until(condition: () => boolean, what: string) {
    for (let waited = 0; !condition(); waited += 10) {
      if (waited > 5000) throw new Error(`not within 5 s: ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** The error code a subscription ends with, or how far it got: its first event (OK), or the server listening. */
  async function subscriptionOutcome<Data, Variables>(
    { caller }: Cell,
    document: TypedDocumentNode<Data, Variables>,
    variables: Variables,
    success: 'event' | 'listening',
  ): Promise<string> {
    const { bus } = api.server.app;
    const idle = bus.activeSubscriptions();
    const subscription = sockets.get(caller)!.subscribe(document, variables);
    let ended: string | undefined;
    void subscription.done.then(({ error }) => (ended = Array.isArray(error) ? errorCode(error) : 'ENDED'));
    let result: string | undefined;
    await until(() => {
      const [first] = subscription.pending();
      if (first) result ??= first.errors ? errorCode(first.errors) : 'OK';
      if (success === 'listening' && bus.activeSubscriptions() > idle) result ??= 'LISTENING';
      return (result ??= ended) !== undefined;
    }, `${caller}'s subscription answers`);
    subscription.unsubscribe();
    await until(() => bus.activeSubscriptions() <= idle, 'the subscription is released');
    return result!;
  }

  /** Every cell of the operations that apply to the caller, as [label, expected, actual]. */
  async function runMatrix(ops: Operation[], callFor: (caller: Caller, user: TestUser | undefined) => Call) {
    // The targets of the membership operations back in their places, whatever an earlier run did to them.
    for (const kind of GROUPS) {
      await restore(rooms[kind].roomId, victimMember, 'MEMBER');
      await restore(rooms[kind].roomId, victimAdmin, 'ADMIN');
    }
    const failures: string[] = [];
    let cells = 0;
    for (const operation of ops) {
      const kinds = operation.kinds ?? KINDS;
      for (const kind of kinds.length === 0 ? [null] : kinds) {
        for (const caller of kind === 'DIRECT' ? DIRECT_CALLERS : CALLERS) {
          const room = rooms[kind ?? 'PUBLIC'];
          const user = caller === 'anonymous' ? undefined : users[caller];
          const wanted = (kind && operation.expected[kind]?.[caller]) ?? operation.expected[caller];
          const expected = wanted === NON_MEMBER ? nonMember(room.kind) : wanted;
          const actual = await operation.run({ caller, user, room, call: callFor(caller, user) });
          cells += 1;
          if (actual !== expected) failures.push(`${operation.name} by ${caller}${kind ? ` in ${kind}` : ''}: ${actual}, expected ${expected}`);
        }
      }
    }
    assert.deepEqual(failures, [], `${failures.length} of ${cells} cells differ`);
    return cells;
  }

  before(async () => {
    // RATE_LIMITS=off: the matrix sends hundreds of operations from the same few users in a burst,
    // as no person does; the limits have their own tests (rate-limits.test.ts).
    api = await startTestServer({ env: { RATE_LIMITS: 'off' } });
    for (const caller of CALLERS) if (caller !== 'anonymous') users[caller] = await createUser(api, caller);
    victimMember = await createUser(api, 'victim_member');
    victimAdmin = await createUser(api, 'victim_admin');
    extra = await createUser(api, 'extra');
    loner = await createUser(api, 'loner');
    for (const kind of GROUPS) {
      const witness = await createUser(api, `witness_${kind.toLowerCase()}`);
      const name = `matrix ${kind} ${randomUUID().slice(0, 8)}`;
      const roomId = await roomWithCast(api, {
        owner: users.owner,
        admins: [users.admin, victimAdmin],
        members: [users.member, victimMember, witness],
        banned: [users.banned],
        visibility: kind,
        name,
      });
      rooms[kind] = { kind, roomId, name, witness, target: { member: victimMember, admin: victimAdmin, owner: users.owner } };
    }
    const peer = await createUser(api, 'peer');
    const direct = await api.ok(RoomsOpenDirect, { userId: peer.id }, users.member.token);
    rooms.DIRECT = { kind: 'DIRECT', roomId: direct.openDirectRoom.id, name: '', witness: peer, target: { member: peer } };
    for (const room of Object.values(rooms)) {
      await send(api, room.target.member, room.roomId, 'first');
      witnessSockets.push(await connectSocket(api.wsUrl, room.witness.token));
    }
    for (const caller of CALLERS) sockets.set(caller, await connectSocket(api.wsUrl, users[caller as Exclude<Caller, 'anonymous'>]?.token));
  });

  after(async () => {
    await Promise.all([...sockets.values(), ...witnessSockets].map((socket) => socket.dispose()));
    await api.close();
  });

  const overHttp = (_caller: Caller, user: TestUser | undefined): Call => (document, variables) => api.request(document, variables, user?.token);
  const overSocket = (caller: Caller): Call => async (document, variables) => {
    const { data, errors } = await sockets.get(caller)!.execute(document, variables);
    return { status: 200, data, errors };
  };

  it('covers every operation of the schema', () => {
    const roots = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()];
    const inSchema = roots.flatMap((root) => Object.keys(root?.getFields() ?? {})).sort();
    const covered = new Set([...operations, ...subscriptions].map((operation) => operation.name.split(/[(.]/)[0]));
    assert.deepEqual(inSchema.filter((name) => !covered.has(name)), []);
  });

  it('queries and mutations over HTTP', async () => {
    const cells = await runMatrix(operations, overHttp);
    assert.ok(cells > 500, `${cells} cells`);
  });

  it('a representative subset over graphql-ws, with the same outcomes', async () => {
    await runMatrix(operations.filter((operation) => operation.ws), overSocket);
  });

  it('subscriptions over graphql-ws', async () => {
    await runMatrix(subscriptions, overSocket);
  });

  it('node(id) answers an unknown id of every type as it answers one the viewer may not see: null', async () => {
    for (const type of ['User', 'Room', 'Message'] as const) {
      const response = await api.request(AuthzNode, { id: globalId(type, randomUUID()) }, users.outsider.token);
      assert.deepEqual([response.data?.node, response.errors], [null, undefined], type);
    }
  });

  it("shows when a user was last seen only to those who share a room with them", async () => {
    const gone = await createUser(api, 'gone');
    await api.ok(RoomsAddMembers, { roomId: rooms.PRIVATE.roomId, userIds: [gone.id] }, users.owner.token);
    const seenBy = async (viewer: TestUser) => {
      const response = await api.request(AuthzUser, { id: gone.id }, viewer.token);
      return presenceOutcome(response, response.data?.user?.presence);
    };
    const socket = await connectSocket(api.wsUrl, gone.token);
    assert.deepEqual([await seenBy(users.member), await seenBy(users.outsider)], ['ONLINE', 'HIDDEN']);
    await socket.dispose();
    // The last connection's close (and lastSeenAt) is recorded after the socket is gone: wait until the member sees it.
    let seen = 'ONLINE';
    for (let tries = 0; seen !== 'OFFLINE_SEEN' && tries < 500; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      seen = await seenBy(users.member);
    }
    assert.equal(seen, 'OFFLINE_SEEN');
    assert.equal(await seenBy(gone), 'OFFLINE_SEEN', 'the user themself');
    assert.equal(await seenBy(users.outsider), 'HIDDEN');
  });
});
