import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventQueue } from '../src/realtime/queue.js';

describe('subscription queue', () => {
  it('wakes a waiting reader once for a whole burst, handed over in order', async () => {
    const queue = new EventQueue<number>(10);
    assert.equal(queue.ready, false);
    assert.deepEqual(queue.take(), []);
    const waiting = queue.whenReady();
    for (let i = 1; i <= 4; i++) queue.push(i);
    await waiting;
    assert.deepEqual(queue.take(), [1, 2, 3, 4]);
    queue.push(5);
    queue.push(6);
    assert.equal(queue.ready, true);
    await queue.whenReady();
    assert.deepEqual(queue.take(), [5, 6]);
  });

  it('ends a reader that falls too far behind, with RATE_LIMITED, and lets go of the buffer', async () => {
    let released = 0;
    const queue = new EventQueue<number>(3, () => released++);
    for (let i = 0; i < 10; i++) queue.push(i);
    await queue.whenReady();
    assert.throws(
      () => queue.take(),
      (error: Error & { extensions?: { code?: string } }) => {
        assert.equal(error.extensions?.code, 'RATE_LIMITED');
        assert.match(error.message, /afterSeq/);
        return true;
      },
    );
    assert.equal(queue.take(), null);
    assert.equal(released, 1, 'topics released once');
  });

  it('close() wakes a waiting reader with the end and releases once', async () => {
    let released = 0;
    const queue = new EventQueue<number>(3, () => released++);
    const waiting = queue.whenReady();
    queue.close();
    queue.close();
    await waiting;
    assert.equal(queue.take(), null);
    queue.push(1);
    assert.equal(queue.take(), null);
    assert.equal(released, 1);
  });
});
