/**
 * Closing the server does not wait on connections that never sent a request (a browser's
 * preconnect, an HTTP client's spare socket): node counts them busy until headersTimeout
 * (60-90 s), so close() used to wait that long.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { createTestApp } from './helpers/app.ts';

const connect = (port: number) =>
  new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
const closed = (s: net.Socket) => new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())));

test('close() drops a connection that sent nothing, and ends at once', async () => {
  const t = await createTestApp();
  const sockets: net.Socket[] = [];
  try {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (t.app.server.address() as net.AddressInfo).port;
    const unused = await connect(port);
    // A keep-alive connection that has had its answer: node's own idle handling closes it.
    const used = await connect(port);
    sockets.push(unused, used);
    used.write('GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise<void>((resolve) => used.once('data', () => resolve()));
    const closing = t.app.close();
    const outcome = await Promise.race([closing.then(() => 'closed'), new Promise((r) => setTimeout(() => r('still waiting after 20 s'), 20_000))]);
    assert.equal(outcome, 'closed');
    await closed(unused);
    await closed(used);
  } finally {
    // Without the fix close() is still waiting on `unused`: end it here so the failure is reported, not a hang.
    for (const s of sockets) s.destroy();
    await t.close();
  }
});
