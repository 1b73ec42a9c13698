import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Rate, RateLimitSettings } from '../config.js';
import { fail } from '../errors.js';

/** Told the name of each limit that refuses something (the metrics count refusals by limit). */
export type RefusalCounter = (limit: string) => void;

/** The per-user actions with a rate: a burst allowance and a sustained rate each. */
export type Action = 'sendMessage' | 'editMessage' | 'reactions' | 'setTyping' | 'searchMessages' | 'accountChanges' | 'uploads';

/**
 * The rate limits of the use cases. The service functions call them, so HTTP and graphql-ws are
 * limited alike. Each refusal is RATE_LIMITED with the seconds to wait (extensions.retryAfter).
 */
export interface RateLimits {
  /** Counts one more action of the user; refused when any window of the action is used up. */
  act(action: Action, userId: string): Promise<void>;
  /** Counts one sign-up from the address. */
  signUp(clientAddress: string): Promise<void>;
  /**
   * Counts a logIn attempt, before the password is checked, against the username (whether or not
   * such an account exists) and the client's address: refused while either is locked, so a right
   * password during a lockout is refused too. `succeeded` clears the username's failures and gives
   * the address its attempt back.
   */
  logInAttempt(username: string, clientAddress: string): Promise<{ succeeded(): Promise<void> }>;
}

/**
 * Counters in Redis when there is Redis (every instance shares them, under REDIS_PREFIX: the app's
 * client prefixes keys), in this process otherwise; none with RATE_LIMITS=off.
 */
export function createRateLimits(settings: RateLimitSettings, redis: Redis | null, refused: RefusalCounter): RateLimits {
  if (!settings.enabled) return unlimited;
  /**
   * Takes a point from every limiter (keys[i] for limiters[i], or keys[0] for all); RATE_LIMITED, with
   * the longest wait among them, when any is used up.
   */
  const consume = async (limit: string, limiters: RateLimiterAbstract[], keys: string[], message?: string): Promise<void> => {
    const results = await Promise.allSettled(limiters.map((limiter, i) => limiter.consume(keys[i] ?? keys[0]!)));
    let waitMs: number | null = null;
    for (const result of results) {
      if (result.status === 'fulfilled') continue;
      // Anything but a refusal is a store failure, not the client's.
      if (!(result.reason instanceof RateLimiterRes)) throw result.reason;
      waitMs = Math.max(waitMs ?? 0, result.reason.msBeforeNext);
    }
    if (waitMs === null) return;
    refused(limit);
    throw fail.rateLimited(waitMs / 1000, message);
  };
  const limiter = (name: string, rate: Rate, blockSeconds = 0): RateLimiterAbstract => {
    const options = { keyPrefix: `limits:${name}`, points: rate.points, duration: rate.seconds, blockDuration: blockSeconds };
    // Should Redis answer with an error, this process counts alone until it recovers.
    return redis
      ? new RateLimiterRedis({ ...options, storeClient: redis, insuranceLimiter: new RateLimiterMemory(options) })
      : new RateLimiterMemory(options);
  };
  const windows = (name: string, rates: Rate[]) => rates.map((rate, i) => limiter(`${name}:${i}`, rate));
  const actions: Record<Action, RateLimiterAbstract[]> = {
    sendMessage: windows('sendMessage', settings.sendMessage),
    editMessage: windows('editMessage', settings.editMessage),
    reactions: windows('reactions', settings.reactions),
    setTyping: windows('setTyping', settings.setTyping),
    searchMessages: windows('searchMessages', settings.searchMessages),
    accountChanges: windows('accountChanges', settings.accountChanges),
    uploads: windows('uploads', settings.uploads),
  };
  const signUps = windows('signUp', settings.signUpsPerAddress);
  const logInAccount = limiter('logIn:account', settings.logInFailuresPerAccount, settings.logInLockoutSeconds);
  const logInAddress = limiter('logIn:address', settings.logInFailuresPerAddress);
  return {
    act: (action, userId) => consume(action, actions[action], [userId]),
    signUp: (clientAddress) => consume('signUp', signUps, [clientAddress], 'Too many sign-ups from your address: try again later.'),
    async logInAttempt(username, clientAddress) {
      // No account has a longer name (see users/service.ts): longer ones need no key of their own.
      const account = username.slice(0, 64);
      await consume('logIn', [logInAccount, logInAddress], [account, clientAddress], 'Too many failed log-ins: try again later.');
      return {
        async succeeded() {
          await Promise.all([logInAccount.delete(account), logInAddress.reward(clientAddress)]);
        },
      };
    },
  };
}

const unlimited: RateLimits = {
  act: async () => {},
  signUp: async () => {},
  logInAttempt: async () => ({ succeeded: async () => {} }),
};
