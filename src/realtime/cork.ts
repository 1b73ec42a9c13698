import type { Socket } from 'node:net';

/**
 * Corks sockets until the end of the current turn of the event loop: whatever is written to a socket
 * in one turn leaves in one system call (a `writev`) instead of one per write. A written frame or
 * command waits at most until the turn's I/O is done. Returns `cork(socket)`, to call before each write.
 */
export function corkPerTurn(): (socket: Socket) => void {
  const corked = new Set<Socket>();
  const uncorkAll = () => {
    for (const socket of corked) socket.uncork();
    corked.clear();
  };
  return (socket) => {
    if (corked.has(socket)) return;
    if (corked.size === 0) setImmediate(uncorkAll);
    socket.cork();
    corked.add(socket);
  };
}
