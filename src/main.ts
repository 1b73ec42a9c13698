import { constants } from 'node:os';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './logger.js';
import { startServer } from './server/index.js';

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}

const logger = createLogger(config.logLevel);

/**
 * A stop request often arrives twice within moments: Ctrl-C in a terminal and `kill -- -<pgid>`
 * signal the whole process group, npm included, and npm forwards its copy to us. A signal this
 * soon after the first is that copy; a later one means "stop now".
 */
const SAME_REQUEST_MS = 1000;
/** After the drain (SHUTDOWN_TIMEOUT), closing the database and Redis gets this long. */
const RELEASE_MS = 3000;
let stopRequestedAt: number | null = null;

const starting = startServer(config, { logger });

function onSignal(signal: NodeJS.Signals): void {
  if (stopRequestedAt === null) {
    stopRequestedAt = Date.now();
    logger.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'shutting down');
    setTimeout(() => {
      logger.error('shutdown timed out: exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs + RELEASE_MS).unref();
    starting
      .then((server) => server.close())
      .then(
        () => {
          logger.info({ durationMs: Date.now() - stopRequestedAt! }, 'stopped');
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    return;
  }
  if (Date.now() - stopRequestedAt < SAME_REQUEST_MS) return;
  logger.warn({ signal }, 'second stop signal: exiting now');
  process.exit(128 + constants.signals[signal]);
}
// Listening from the start: a signal during start-up stops the server once it has started.
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);

/** When to collect start-up's garbage; the memory bench reads idle RSS after it. */
const STARTUP_GARBAGE_DELAY_MS = 5000;

const server = await starting.catch((error: unknown) => {
  logger.fatal({ err: error }, 'Parley failed to start');
  process.exit(1);
});
// Start-up garbage is tens of MB that V8 would keep until pressure builds: one full collection
// returns it (npm start passes --expose-gc). A few seconds after start, since V8 shrinks its young
// generation (grown to 32 MB by start-up's burst) only at a collection that sees allocation has slowed.
setTimeout(() => globalThis.gc?.(), STARTUP_GARBAGE_DELAY_MS).unref();
logger.info(
  {
    url: server.url,
    pid: process.pid,
    database: config.databaseUrl ? 'postgresql' : `pglite in ${config.dataDir}`,
    pubsub: config.redisUrl ? 'redis' : 'in-process',
  },
  `Parley is running: chat at ${new URL('/', server.url).href}, GraphiQL at ${server.url}`,
);
