/**
 * Drops, when the server closes, the connections that never sent a byte: a browser's preconnect,
 * an HTTP client's spare socket. Node's closeIdleConnections() (what Fastify calls on close) counts
 * such a connection as busy until its headersTimeout runs out (60 s, checked every 30 s), so close()
 * waited up to 90 s on one: seen as a 69 s close after fetch left a socket open (the export test),
 * and the same holds a `cco serve` shutdown while a browser keeps a preconnected socket. They hold
 * no request, so nothing is lost.
 */
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

export function dropUnusedConnectionsOnClose(app: FastifyInstance): void {
  const sockets = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  app.addHook('preClose', async () => {
    for (const socket of sockets) if (socket.bytesRead === 0) socket.destroy();
  });
}
