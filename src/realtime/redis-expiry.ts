import type { ChainableCommander, Redis } from 'ioredis';

/**
 * The Redis pattern presence and typing share: a sorted set of entries scored by the time they
 * expire, plus a per-owner index set, changed together in MULTI transactions so that exactly one
 * caller sees each change of an index's size.
 */

/** Runs a MULTI or pipeline and returns its replies; throws the first failed command's error. */
export async function execAll(commands: ChainableCommander): Promise<unknown[]> {
  const replies = await commands.exec();
  if (!replies) throw new Error('Redis discarded the transaction');
  return replies.map(([error, reply]) => {
    if (error) throw error;
    return reply;
  });
}

/** Where an entry of the sorted set is also listed. */
export interface IndexEntry {
  key: string;
  member: string;
}

export interface Claim {
  member: string;
  /** Members left in the entry's index set after this claim removed it. */
  remaining: number;
}

// Removes the entry only if it is still expired: a refresh that landed after the range read keeps it.
const claimIfExpired = `
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[3]) then return -1 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[2])
return redis.call('SCARD', KEYS[2])`;

const batchSize = 500;

/**
 * Removes every expired entry of `expiries` (and its index entry). Several instances may sweep at
 * once: each entry is claimed by exactly one of them, which alone gets it back.
 */
export async function claimExpired(redis: Redis, expiries: string, indexOf: (member: string) => IndexEntry): Promise<Claim[]> {
  const claims: Claim[] = [];
  for (;;) {
    const now = Date.now();
    const due = await redis.zrangebyscore(expiries, '-inf', now, 'LIMIT', 0, batchSize);
    const results = await Promise.all(
      due.map(async (member) => {
        const index = indexOf(member);
        const remaining = Number(await redis.eval(claimIfExpired, 2, expiries, index.key, member, index.member, now));
        return { member, remaining };
      }),
    );
    claims.push(...results.filter((claim) => claim.remaining >= 0));
    if (due.length < batchSize) return claims;
  }
}
