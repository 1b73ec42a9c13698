import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';

describe('configuration', () => {
  const dataDir = () => mkdtempSync(join(tmpdir(), 'parley-config-'));

  it('has working defaults and keeps a generated JWT secret in DATA_DIR', () => {
    const dir = dataDir();
    try {
      const config = loadConfig({ DATA_DIR: dir });
      assert.equal(config.port, 4000);
      assert.equal(config.host, '127.0.0.1');
      assert.equal(config.databaseUrl, null);
      assert.equal(config.redisUrl, null);
      assert.equal(config.tokenTtlSeconds, 7 * 86400);
      assert.ok(readFileSync(join(dir, 'jwt-secret'), 'utf8').length > 40);
      assert.deepEqual(loadConfig({ DATA_DIR: dir }).jwtSecret, config.jwtSecret, 'the same secret on the next start');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('parses durations and URLs', () => {
    const config = loadConfig({
      PORT: '8080',
      TOKEN_TTL: '15m',
      JWT_SECRET: 'x'.repeat(32),
      DATABASE_URL: 'postgresql://u@db/parley',
      REDIS_URL: 'redis://cache:6379',
    });
    assert.equal(config.port, 8080);
    assert.equal(config.tokenTtlSeconds, 900);
    assert.equal(config.databaseUrl, 'postgresql://u@db/parley');
    assert.equal(config.redisUrl, 'redis://cache:6379');
  });

  it('refuses to start with a shared database or Redis and no JWT_SECRET, naming the variable', () => {
    for (const [name, url] of [
      ['DATABASE_URL', 'postgresql://u@db/parley'],
      ['REDIS_URL', 'redis://cache:6379'],
    ] as const) {
      assert.throws(
        () => loadConfig({ [name]: url }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.match(error.message, new RegExp(`JWT_SECRET: required when ${name} is set`));
          return true;
        },
        name,
      );
      assert.equal(loadConfig({ [name]: url, JWT_SECRET: 'x'.repeat(32) }).jwtSecret.length, 32);
    }
    assert.throws(
      () => loadConfig({ DATABASE_URL: 'postgresql://u@db/parley', REDIS_URL: 'redis://cache:6379' }),
      /JWT_SECRET: required when DATABASE_URL and REDIS_URL are set/,
    );
  });

  it('reads the payload limits', () => {
    const defaults = loadConfig({ JWT_SECRET: 'x'.repeat(32) }).limits;
    assert.equal(defaults.maxPayloadBytes, 16 * 1024);
    assert.equal(defaults.maxPayloadDepth, 32);
    assert.equal(loadConfig({ JWT_SECRET: 'x'.repeat(32), MAX_PAYLOAD_DEPTH: '4' }).limits.maxPayloadDepth, 4);
    assert.throws(() => loadConfig({ JWT_SECRET: 'x'.repeat(32), MAX_PAYLOAD_DEPTH: '0' }), /MAX_PAYLOAD_DEPTH/);
  });

  it('reads TRUST_PROXY as a number of proxies', () => {
    assert.equal(loadConfig({ JWT_SECRET: 'x'.repeat(32) }).trustedProxies, 0);
    assert.equal(loadConfig({ JWT_SECRET: 'x'.repeat(32), TRUST_PROXY: 'true' }).trustedProxies, 1);
    assert.equal(loadConfig({ JWT_SECRET: 'x'.repeat(32), TRUST_PROXY: '2' }).trustedProxies, 2);
    assert.throws(() => loadConfig({ JWT_SECRET: 'x'.repeat(32), TRUST_PROXY: 'yes' }), /TRUST_PROXY/);
  });

  it('reads the abuse limits: on by default, rates as count/duration windows', () => {
    const defaults = loadConfig({ JWT_SECRET: 'x'.repeat(32) }).rateLimits;
    assert.equal(defaults.enabled, true);
    assert.deepEqual(defaults.sendMessage, [
      { points: 30, seconds: 10 },
      { points: 300, seconds: 600 },
    ]);
    assert.deepEqual(defaults.logInFailuresPerAccount, { points: 10, seconds: 3600 });
    assert.equal(defaults.logInLockoutSeconds, 900);
    assert.equal(defaults.anonymousSocketGraceMs, 10_000);
    const custom = loadConfig({ JWT_SECRET: 'x'.repeat(32), RATE_LIMITS: 'off', REACTION_RATE: '5/2,100/1d', MAX_SOCKETS_PER_ADDRESS: '7' });
    assert.equal(custom.rateLimits.enabled, false);
    assert.deepEqual(custom.rateLimits.reactions, [
      { points: 5, seconds: 2 },
      { points: 100, seconds: 86400 },
    ]);
    assert.equal(custom.rateLimits.socketsPerAddress, 7);
    assert.throws(
      () =>
        loadConfig({
          JWT_SECRET: 'x'.repeat(32),
          RATE_LIMITS: 'maybe',
          SEND_MESSAGE_RATE: '0/10s',
          SET_TYPING_RATE: '10 per minute',
          LOGIN_FAILURES_PER_ACCOUNT: '5/1m,50/1h',
        }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        for (const name of ['RATE_LIMITS', 'SEND_MESSAGE_RATE', 'SET_TYPING_RATE', 'LOGIN_FAILURES_PER_ACCOUNT']) {
          assert.match(error.message, new RegExp(name));
        }
        return true;
      },
    );
  });

  it('names every bad variable in one clear error', () => {
    assert.throws(
      () => loadConfig({ PORT: 'eighty', TOKEN_TTL: '3 weeks', DATABASE_URL: 'mysql://x', JWT_SECRET: 'short', LOG_LEVEL: 'loud' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        for (const name of ['PORT', 'TOKEN_TTL', 'DATABASE_URL', 'JWT_SECRET', 'LOG_LEVEL']) {
          assert.match(error.message, new RegExp(name));
        }
        return true;
      },
    );
  });
});
