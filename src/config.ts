import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';

/** Everything Parley reads from the environment, parsed and validated once at start-up. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** The built web client served at `/`. */
  webDir: string;
  /** PostgreSQL URL; null means the embedded PGlite database in `dataDir`. */
  databaseUrl: string | null;
  /** Redis URL; null means in-process pub/sub and presence. */
  redisUrl: string | null;
  /** Prefix of every Redis key and channel, so several deployments (or test runs) can share one Redis. */
  redisPrefix: string;
  jwtSecret: Uint8Array;
  tokenTtlSeconds: number;
  /** The OpenID Connect provider whose ID tokens logInWithIdToken accepts; null: none. */
  oidc: OidcSettings | null;
  realtime: RealtimeSettings;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Reverse proxies in front of the server whose X-Forwarded-For is believed (0: none, the header is ignored). */
  trustedProxies: number;
  /** GET /metrics (Prometheus text); with a token, only for `Authorization: Bearer <token>`. */
  metrics: { enabled: boolean; token: string | null };
  /** How long a stop signal lets requests, operations and sends in flight finish before connections are closed anyway. */
  shutdownTimeoutMs: number;
  limits: Limits;
  rateLimits: RateLimitSettings;
  files: FileSettings;
  /** Signed POSTs of chosen events to WEBHOOK_URL; null when it is unset. */
  webhooks: WebhookSettings | null;
}

/** Message attachments (src/files/). */
export interface FileSettings {
  /** Where the bytes are kept: a directory under DATA_DIR (one instance, or a shared directory) or the database. */
  store: 'directory' | 'database';
  maxFileBytes: number;
  /** Content types accepted, as sniffed from the bytes. */
  allowedTypes: string[];
  /** How long an Attachment.url stays valid. */
  urlTtlSeconds: number;
}

/** The events outgoing webhooks can carry (WEBHOOK_EVENTS). */
export const webhookEvents = ['message.sent', 'message.edited', 'message.deleted', 'room.created', 'member.joined', 'member.left'] as const;
export type WebhookEvent = (typeof webhookEvents)[number];

export interface WebhookSettings {
  url: string;
  /** The HMAC-SHA256 key of the signatures. */
  secret: string;
  events: ReadonlySet<WebhookEvent>;
  /** The wait before the first retry of a failed delivery; it doubles at each failure, up to an hour. */
  retryMs: number;
}

export interface OidcSettings {
  issuer: string;
  clientId: string;
  /** Shortest time between two fetches of the issuer's keys when tokens name a `kid` not among them. */
  keysRefreshMs: number;
}

export interface RealtimeSettings {
  /** A connection not refreshed by its instance's heartbeat for this long counts as gone (instance died). */
  presenceTtlMs: number;
  /** Typing stops by itself after this long without a refresh. */
  typingTimeoutMs: number;
  /** Events one subscription may have waiting for a slow client before it is ended (it can resume with afterSeq). */
  subscriptionBuffer: number;
  /** Interval of WebSocket keep-alive pings, which also find dead sockets. */
  keepAliveMs: number;
}

export interface Limits {
  maxBodyBytes: number;
  maxWsPayloadBytes: number;
  maxQueryDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxCost: number;
  maxMessageLength: number;
  maxPayloadBytes: number;
  /** Levels of objects and arrays a message payload may nest. */
  maxPayloadDepth: number;
}

/** At most `points` actions within a window of `seconds` (a fixed window, from the first action). */
export interface Rate {
  points: number;
  seconds: number;
}

/** Abuse limits (src/limits/): rates per user, account and address, and what one socket or address may hold open. */
export interface RateLimitSettings {
  /** RATE_LIMITS=off: none of these apply (load tests, the benchmark). */
  enabled: boolean;
  /** Wrong passwords for one username before it is locked for logInLockoutSeconds. */
  logInFailuresPerAccount: Rate;
  logInLockoutSeconds: number;
  /** Wrong passwords from one address (any usernames) before its logIns are refused for the rest of the window. */
  logInFailuresPerAddress: Rate;
  signUpsPerAddress: Rate[];
  /** Per user: a short window (the burst) and a long one (the sustained rate); every window must allow. */
  sendMessage: Rate[];
  editMessage: Rate[];
  /** addReaction and removeReaction together. */
  reactions: Rate[];
  setTyping: Rate[];
  /** searchMessages: each search reads the index of every room of the user. */
  searchMessages: Rate[];
  /** Per user: changes to their account and sessions (endSession, logOutEverywhere). */
  accountChanges: Rate[];
  /** Per user: uploadAttachment. */
  uploads: Rate[];
  /** WebSockets open at once from one address, on one instance. */
  socketsPerAddress: number;
  /** How long a socket may stay open without a signed-in operation. */
  anonymousSocketGraceMs: number;
  subscriptionsPerSocket: number;
}

export class ConfigError extends Error {}

const durationUnits: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** "3600", "90s", "15m", "12h", "7d" → seconds. */
const duration = z
  .string()
  .regex(/^\d+[smhd]?$/, 'expected a number of seconds or a duration like 15m, 12h, 7d')
  .transform((text) => {
    const unit = text.at(-1) as string;
    return unit in durationUnits ? Number(text.slice(0, -1)) * durationUnits[unit]! : Number(text);
  })
  .refine((seconds) => seconds > 0, 'must be more than zero');

const positiveInt = z.coerce.number().int().positive();

/** "30/10s" or "30/10s,300/10m": at most 30 per 10 seconds and 300 per 10 minutes. */
const rates = z
  .string()
  .regex(/^\d+\/\d+[smhd]?(,\d+\/\d+[smhd]?)*$/, 'expected limits like 30/10s or 30/10s,300/10m (count/duration)')
  .transform((text, context) =>
    text.split(',').map((window) => {
      const [points, within] = window.split('/') as [string, string];
      const seconds = duration.safeParse(within);
      if (Number(points) <= 0 || !seconds.success) context.addIssue({ code: 'custom', message: `"${window}": count and duration must be more than zero` });
      return { points: Number(points), seconds: seconds.success ? seconds.data : 1 };
    }),
  );
const rate = rates.refine((windows) => windows.length === 1, 'expected one limit like 10/1h').transform((windows) => windows[0]!);

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('./.parley'),
  WEB_DIR: z.string().min(1).default('./web/dist'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'expected a postgresql:// URL')
    .optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL')
    .optional(),
  REDIS_PREFIX: z.string().default('parley:'),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  TOKEN_TTL: duration.default(7 * 86400),
  OIDC_ISSUER: z
    .string()
    .regex(/^https?:\/\/[^/]/, 'expected the issuer URL, e.g. https://accounts.example.com')
    .transform((url) => url.replace(/\/+$/, ''))
    .optional(),
  OIDC_CLIENT_ID: z.string().min(1).optional(),
  OIDC_KEYS_REFRESH: duration.default(30),
  PRESENCE_TTL: duration.default(30),
  TYPING_TIMEOUT: duration.default(6),
  SUBSCRIPTION_BUFFER: positiveInt.default(1000),
  KEEPALIVE: duration.default(12),
  TRUST_PROXY: z
    .string()
    .regex(/^(\d+|true|false)$/, 'expected the number of proxies in front of the server, true (one) or false (none)')
    .transform((text) => (text === 'true' ? 1 : text === 'false' ? 0 : Number(text)))
    .default(0),
  SHUTDOWN_TIMEOUT: duration.default(5),
  METRICS: z.enum(['on', 'off']).default('on'),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MAX_BODY_BYTES: positiveInt.default(1_000_000),
  MAX_WS_PAYLOAD_BYTES: positiveInt.default(1_000_000),
  MAX_QUERY_DEPTH: positiveInt.default(12),
  MAX_ALIASES: positiveInt.default(30),
  MAX_TOKENS: positiveInt.default(2000),
  MAX_COST: positiveInt.default(20000),
  MAX_MESSAGE_LENGTH: positiveInt.default(4000),
  MAX_PAYLOAD_BYTES: positiveInt.default(16 * 1024),
  MAX_PAYLOAD_DEPTH: positiveInt.default(32),
  // Abuse limits: generous for a person, tight for a script (README, Configuration).
  RATE_LIMITS: z.enum(['on', 'off']).default('on'),
  LOGIN_FAILURES_PER_ACCOUNT: rate.prefault('10/1h'),
  LOGIN_LOCKOUT: duration.default(15 * 60),
  LOGIN_FAILURES_PER_ADDRESS: rate.prefault('50/1h'),
  SIGNUPS_PER_ADDRESS: rates.prefault('30/1h'),
  SEND_MESSAGE_RATE: rates.prefault('30/10s,300/10m'),
  EDIT_MESSAGE_RATE: rates.prefault('20/10s,200/10m'),
  REACTION_RATE: rates.prefault('30/10s,300/10m'),
  SET_TYPING_RATE: rates.prefault('30/10s,600/10m'),
  SEARCH_RATE: rates.prefault('20/10s,200/10m'),
  ACCOUNT_CHANGE_RATE: rates.prefault('20/1m,200/1h'),
  UPLOAD_RATE: rates.prefault('10/1m,100/1h'),
  FILE_STORE: z.enum(['directory', 'database']).default('directory'),
  MAX_FILE_BYTES: positiveInt.default(10 * 1024 * 1024),
  ALLOWED_FILE_TYPES: z
    .string()
    .regex(/^[\w.+-]+\/[\w.+-]+(,[\w.+-]+\/[\w.+-]+)*$/, 'expected content types like image/png,application/pdf')
    .transform((text) => text.split(','))
    .default(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/pdf', 'text/plain']),
  FILE_URL_TTL: duration.default(3600),
  MAX_SOCKETS_PER_ADDRESS: positiveInt.default(100),
  ANONYMOUS_SOCKET_GRACE: duration.default(10),
  MAX_SUBSCRIPTIONS_PER_SOCKET: positiveInt.default(100),
  WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  WEBHOOK_EVENTS: z
    .string()
    .transform((text) => text.split(',').map((event) => event.trim()))
    .pipe(z.array(z.enum(webhookEvents)).min(1))
    .optional(),
  WEBHOOK_RETRY: duration.default(2),
});

type Env = Record<string, string | undefined>;

/** Parses the environment. Throws a ConfigError naming every bad variable. */
export function loadConfig(env: Env = process.env): Config {
  // An empty variable means "unset", as in most shells' `VAR= cmd`.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const e = parsed.data;
  if (Boolean(e.OIDC_ISSUER) !== Boolean(e.OIDC_CLIENT_ID)) {
    throw new ConfigError('Invalid configuration:\n  OIDC_ISSUER and OIDC_CLIENT_ID: set both, or neither');
  }
  // Instances sharing a database or a Redis are meant to run side by side: each would generate a
  // secret of its own, and refuse the tokens of the others.
  const shared = (['DATABASE_URL', 'REDIS_URL'] as const).filter((name) => e[name]);
  if (shared.length > 0 && !e.JWT_SECRET) {
    throw new ConfigError(
      `Invalid configuration:\n  JWT_SECRET: required when ${shared.join(' and ')} ${shared.length > 1 ? 'are' : 'is'} set, so that every instance signs and accepts the same tokens`,
    );
  }
  if (e.WEBHOOK_URL && !e.WEBHOOK_SECRET) {
    throw new ConfigError('Invalid configuration:\n  WEBHOOK_SECRET: required when WEBHOOK_URL is set, so that receivers can tell our POSTs from forgeries');
  }
  const dataDir = resolve(e.DATA_DIR);
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir,
    webDir: resolve(e.WEB_DIR),
    databaseUrl: e.DATABASE_URL ?? null,
    redisUrl: e.REDIS_URL ?? null,
    redisPrefix: e.REDIS_PREFIX,
    jwtSecret: e.JWT_SECRET ? new TextEncoder().encode(e.JWT_SECRET) : persistentSecret(dataDir),
    tokenTtlSeconds: e.TOKEN_TTL,
    oidc:
      e.OIDC_ISSUER && e.OIDC_CLIENT_ID
        ? { issuer: e.OIDC_ISSUER, clientId: e.OIDC_CLIENT_ID, keysRefreshMs: e.OIDC_KEYS_REFRESH * 1000 }
        : null,
    realtime: {
      presenceTtlMs: e.PRESENCE_TTL * 1000,
      typingTimeoutMs: e.TYPING_TIMEOUT * 1000,
      subscriptionBuffer: e.SUBSCRIPTION_BUFFER,
      keepAliveMs: e.KEEPALIVE * 1000,
    },
    logLevel: e.LOG_LEVEL,
    trustedProxies: e.TRUST_PROXY,
    metrics: { enabled: e.METRICS === 'on', token: e.METRICS_TOKEN ?? null },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT * 1000,
    webhooks:
      e.WEBHOOK_URL && e.WEBHOOK_SECRET
        ? { url: e.WEBHOOK_URL, secret: e.WEBHOOK_SECRET, events: new Set(e.WEBHOOK_EVENTS ?? webhookEvents), retryMs: e.WEBHOOK_RETRY * 1000 }
        : null,
    limits: {
      maxBodyBytes: e.MAX_BODY_BYTES,
      maxWsPayloadBytes: e.MAX_WS_PAYLOAD_BYTES,
      maxQueryDepth: e.MAX_QUERY_DEPTH,
      maxAliases: e.MAX_ALIASES,
      maxTokens: e.MAX_TOKENS,
      maxCost: e.MAX_COST,
      maxMessageLength: e.MAX_MESSAGE_LENGTH,
      maxPayloadBytes: e.MAX_PAYLOAD_BYTES,
      maxPayloadDepth: e.MAX_PAYLOAD_DEPTH,
    },
    rateLimits: {
      enabled: e.RATE_LIMITS === 'on',
      logInFailuresPerAccount: e.LOGIN_FAILURES_PER_ACCOUNT,
      logInLockoutSeconds: e.LOGIN_LOCKOUT,
      logInFailuresPerAddress: e.LOGIN_FAILURES_PER_ADDRESS,
      signUpsPerAddress: e.SIGNUPS_PER_ADDRESS,
      sendMessage: e.SEND_MESSAGE_RATE,
      editMessage: e.EDIT_MESSAGE_RATE,
      reactions: e.REACTION_RATE,
      setTyping: e.SET_TYPING_RATE,
      searchMessages: e.SEARCH_RATE,
      accountChanges: e.ACCOUNT_CHANGE_RATE,
      uploads: e.UPLOAD_RATE,
      socketsPerAddress: e.MAX_SOCKETS_PER_ADDRESS,
      anonymousSocketGraceMs: e.ANONYMOUS_SOCKET_GRACE * 1000,
      subscriptionsPerSocket: e.MAX_SUBSCRIPTIONS_PER_SOCKET,
    },
    files: {
      store: e.FILE_STORE,
      maxFileBytes: e.MAX_FILE_BYTES,
      allowedTypes: e.ALLOWED_FILE_TYPES,
      urlTtlSeconds: e.FILE_URL_TTL,
    },
  };
}

/** A secret generated on first start and kept in DATA_DIR, so tokens survive restarts. */
function persistentSecret(dataDir: string): Uint8Array {
  const file = join(dataDir, 'jwt-secret');
  try {
    return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48);
  try {
    writeFileSync(file, secret.toString('base64url'), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return persistentSecret(dataDir);
    throw error;
  }
  return secret;
}
