import { fail } from '../errors.js';
import type { Room, RoomMember, RoomRole } from '../generated/prisma/client.js';

/**
 * Who may do what in a room. OWNER does everything; ADMIN manages MEMBERs (adds, removes, bans,
 * deletes their messages, edits the room) but not other ADMINs or the OWNER; MEMBER reads, sends and leaves.
 * Pure checks: each throws the error the client sees, or returns.
 */

const rank: Record<RoomRole, number> = { OWNER: 3, ADMIN: 2, MEMBER: 1 };

/** Direct rooms have no name, roles or membership to manage. */
export function requireGroup(room: Room, action: string): void {
  if (room.kind === 'DIRECT') throw fail.badInput(`Direct rooms can't ${action}; only group rooms can.`);
}

export function requireManager(member: RoomMember, action: string): void {
  if (rank[member.role] < rank.ADMIN) throw fail.forbidden(`Only the room's owner and admins can ${action}.`);
}

export function requireOwner(member: RoomMember, action: string): void {
  if (member.role !== 'OWNER') throw fail.forbidden(`Only the room's owner can ${action}.`);
}

/**
 * The rank rule: a manager (see requireManager) acts on users, and their messages, only below
 * their own role; someone who is not a member ranks below everyone.
 */
export function requireOutranks(actor: RoomMember, target: RoomMember | null, action: string): void {
  if (!target || rank[actor.role] > rank[target.role]) return;
  throw fail.forbidden(
    target.role === 'OWNER' ? `You can't ${action} the room's owner.` : `Only the room's owner can ${action} an admin.`,
  );
}

export function requireSomeoneElse(actorId: string, targetId: string, message: string): void {
  if (actorId === targetId) throw fail.badInput(message, 'userId');
}
