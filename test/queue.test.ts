import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventQueue } from '../src/realtime/queue.js';

describe('subscription queue', () => {
  it('delivers in order to a waiting or a late consumer', async () => {
    const queue = new EventQueue<number>(10);
    const waiting = queue.next();
    queue.push(1);
    queue.push(2);
    queue.push(3);
    assert.deepEqual(await waiting, { value: 1, done: false });
    assert.deepEqual(await queue.next(), { value: 2, done: false });
    assert.deepEqual(await queue.next(), { value: 3, done: false });
  });

  it('hands a waiting consumer a whole burst at once, in order', async () => {
    const queue = new EventQueue<number>(10);
    const waiting = queue.nextBatch();
    for (let i = 1; i <= 4; i++) queue.push(i);
    assert.deepEqual(await waiting, [1, 2, 3, 4]);
    queue.push(5);
    queue.push(6);
    assert.deepEqual(await queue.next(), { value: 5, done: false });
    assert.deepEqual(await queue.nextBatch(), [6]);
    const ended = queue.nextBatch();
    await queue.return();
    assert.equal(await ended, null);
  });

  it('ends a consumer that falls too far behind, with RATE_LIMITED, and lets go of the buffer', async () => {
    let released = 0;
    const queue = new EventQueue<number>(3, () => released++);
    for (let i = 0; i < 10; i++) queue.push(i);
    await assert.rejects(queue.next(), (error: Error & { extensions?: { code?: string } }) => {
      assert.equal(error.extensions?.code, 'RATE_LIMITED');
      assert.match(error.message, /afterSeq/);
      return true;
    });
    assert.deepEqual(await queue.next(), { value: undefined, done: true });
    assert.equal(released, 1, 'topics released once');
  });

  it('return() ends a waiting consumer and releases once', async () => {
    let released = 0;
    const queue = new EventQueue<number>(3, () => released++);
    const waiting = queue.next();
    await queue.return();
    await queue.return();
    assert.deepEqual(await waiting, { value: undefined, done: true });
    queue.push(1);
    assert.deepEqual(await queue.next(), { value: undefined, done: true });
    assert.equal(released, 1);
  });
});
