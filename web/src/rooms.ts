import type { PresenceStatus, RoomKind } from './gql/graphql';

interface MemberUser {
  id: string;
  displayName: string;
  presence: { status: PresenceStatus };
}

interface NamedRoom {
  kind: RoomKind;
  name?: string | null;
  members: { edges: { node: { user: MemberUser } }[] };
}

/** The other person of a direct room (null for groups). */
export function directPeer(room: NamedRoom, viewerId: string): MemberUser | null {
  if (room.kind !== 'DIRECT') return null;
  return room.members.edges.find((edge) => edge.node.user.id !== viewerId)?.node.user ?? null;
}

/** A group's name; for a direct room, the other person's name. */
export function roomTitle(room: NamedRoom, viewerId: string): string {
  return room.name ?? directPeer(room, viewerId)?.displayName ?? 'Direct messages';
}
