import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { startServer } from './server/index.js';

let config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}

const logger = createLogger(config.logLevel);
const server = await startServer(config, { logger }).catch((error: unknown) => {
  logger.fatal({ err: error }, 'Parley failed to start');
  process.exit(1);
});
logger.info(
  { url: server.url, database: config.databaseUrl ? 'postgresql' : `pglite in ${config.dataDir}`, pubsub: config.redisUrl ? 'redis' : 'in-process' },
  `Parley is running: chat at ${new URL('/', server.url).href}, GraphiQL at ${server.url}`,
);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'shutting down');
    // Exit even if something hangs: a supervisor expects us gone within seconds.
    setTimeout(() => {
      logger.error('shutdown timed out');
      process.exit(1);
    }, 8000).unref();
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
