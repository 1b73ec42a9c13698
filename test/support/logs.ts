import { Writable } from 'node:stream';
import { createLogger } from '../../src/logger.js';

export interface LogLine {
  level: number;
  msg: string;
  requestId?: string;
  [field: string]: unknown;
}

/** A logger like the server's, at trace, writing into memory. */
export function capturedLogger() {
  const text: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text.push(chunk.toString());
      done();
    },
  });
  const lines = () =>
    text
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as LogLine);
  return { logger: createLogger('trace', destination), text: () => text.join(''), lines };
}
