import { fail } from './errors.js';
import type { Message, Room, RoomMember, RoomVisibility } from './generated/prisma/client.js';
import type { Logger } from './logger.js';
import type { SendMessageInput } from './messages/service.js';

/**
 * In-process hooks for the server that embeds Parley (`startServer(config, { hooks })`): code of its
 * own around each use case. A before-hook sees the caller's input before anything is written and may
 * refuse the call or change its input (a changed input goes through the same checks as the client's).
 * An after-hook sees the stored result once it is committed and published; it cannot undo it: what it
 * throws is logged, never answered to the client.
 */

/** Who is calling. */
export interface HookCaller {
  userId: string;
}

/** Each use case's input (as a before-hook may change it) and its stored result (as an after-hook sees it). */
export interface HookPoints {
  sendMessage: { input: SendMessageInput; result: Message };
  editMessage: { input: { messageId: string; body: string }; result: Message };
  /** The result is the message as deleted: no body, payload or reactions, deletedAt set. */
  deleteMessage: { input: { messageId: string }; result: Message };
  joinRoom: { input: { roomId: string }; result: RoomMember };
  /** The room may be gone: the last one out deletes it. */
  leaveRoom: { input: { roomId: string }; result: { roomId: string } };
  createRoom: {
    input: { name: string; topic?: string | null; visibility: RoomVisibility; memberIds: readonly string[] };
    result: Room;
  };
  /** A WebSocket starts counting as one of the user's connections (presence), at connect or its first signed-in operation. */
  connect: { input: { connectionId: string; clientAddress: string }; result: { connectionId: string } };
  /** That socket closed. */
  disconnect: { input: { connectionId: string }; result: { connectionId: string } };
}
export type HookPoint = keyof HookPoints;
/** Use cases a before-hook can refuse or change: all but disconnect, which has already happened. */
export type BeforePoint = Exclude<HookPoint, 'disconnect'>;

/**
 * What a before-hook answers: nothing to let the call go on as it is, `{ input }` to go on with
 * that input instead, `{ refuse }` to end it with that sentence for the user (FORBIDDEN unless code says
 * BAD_USER_INPUT).
 */
export type BeforeAnswer<Input> =
  | void
  | { input: Input }
  | { refuse: string; code?: 'FORBIDDEN' | 'BAD_USER_INPUT' };

/** Connect can be refused, not changed: its input is the server's, not the client's. */
type AnswerOf<P extends BeforePoint> = P extends 'connect'
  ? Exclude<BeforeAnswer<HookPoints[P]['input']>, { input: unknown }>
  : BeforeAnswer<HookPoints[P]['input']>;

export interface UseCaseHooks<P extends HookPoint> {
  before?: P extends BeforePoint ? (input: HookPoints[P]['input'], caller: HookCaller) => AnswerOf<P> | Promise<AnswerOf<P>> : never;
  /** Awaited before the client gets its answer (and before a graceful stop completes): hand slow work off. */
  after?: (input: HookPoints[P]['input'], result: HookPoints[P]['result'], caller: HookCaller) => unknown;
}

/** The embedding server's hooks, by use case; every one optional. */
export type Hooks = { [P in HookPoint]?: UseCaseHooks<P> };

/** What the use cases call. */
export interface HookRunner {
  /** The input to go on with; throws the refusal as a contract error. */
  before<P extends BeforePoint>(point: P, caller: HookCaller, input: HookPoints[P]['input']): Promise<HookPoints[P]['input']>;
  /** Never throws: the result is stored already. */
  after<P extends HookPoint>(point: P, caller: HookCaller, input: HookPoints[P]['input'], result: HookPoints[P]['result']): Promise<void>;
}

/** One use case's hooks with its types erased: the runner only passes values through. */
interface AnyHooks {
  before?: (input: unknown, caller: HookCaller) => BeforeAnswer<unknown> | Promise<BeforeAnswer<unknown>>;
  after?: (input: unknown, result: unknown, caller: HookCaller) => unknown;
}

/** Runs several sets of hooks in order (the embedding server's, then the webhooks. delivery worker): each before-hook sees the input the previous one answered. */
export function createHookRunner(sets: readonly Hooks[], logger: Logger): HookRunner {
  const of = (point: HookPoint) => sets.map((hooks) => hooks[point] as AnyHooks | undefined);
  return {
    async before(point, caller, input) {
      let current = input;
      for (const before of of(point).map((hooks) => hooks?.before)) {
        const answer = before && (await before(current, caller));
        if (!answer) continue;
        if ('refuse' in answer) {
          throw answer.code === 'BAD_USER_INPUT' ? fail.badInput(answer.refuse) : fail.forbidden(answer.refuse);
        }
        current = answer.input as typeof input;
      }
      return current;
    },
    async after(point, caller, input, result) {
      for (const after of of(point).map((hooks) => hooks?.after)) {
        try {
          await after?.(input, result, caller);
        } catch (error) {
          logger.error({ err: error, hook: point, userId: caller.userId }, 'after-hook failed');
        }
      }
    },
  };
}
