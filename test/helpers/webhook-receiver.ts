/**
 * A webhook receiver on node:http, for tests and the benchmark: it checks every delivery's
 * signature the way the README tells receivers to (its own few lines, not the server's code),
 * records what came, answers with a status of the test's choosing, and can go down and come
 * back on the same port (an outage).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  at: number;
  path: string;
  event: string;
  delivery: string;
  signature: string;
  /** The signature matched the body with the secret, and its timestamp is within 5 minutes. */
  valid: boolean;
  body: string;
  json: { id: string; type: string; created_at: string; data: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  status: number;
}

/** The README's check, as a receiver would write it. */
export function verify(secret: string, body: string, header: string): boolean {
  const parts = Object.fromEntries(header.split(',').map((p) => p.split('=')));
  const expected = createHmac('sha256', secret).update(`${parts.t}.${body}`).digest('hex');
  const fresh = Math.abs(Date.now() / 1000 - Number(parts.t)) < 300;
  return fresh && typeof parts.v1 === 'string' && parts.v1.length === expected.length && timingSafeEqual(Buffer.from(parts.v1), Buffer.from(expected));
}

export class WebhookReceiver {
  readonly received: Received[] = [];
  /** Secrets by path (a subscription's URL path); deliveries to other paths are invalid. */
  readonly secrets = new Map<string, string>();
  /** The status to answer a delivery with (default 200), optionally after a delay (a slow receiver). */
  respond: (r: Omit<Received, 'status'>) => number | { status: number; delayMs: number } = () => 200;
  #server: http.Server;
  #port = 0;

  private constructor() {
    this.#server = this.#make();
  }

  static async start(): Promise<WebhookReceiver> {
    const r = new WebhookReceiver();
    await r.up();
    return r;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  #make(): http.Server {
    return http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const signature = String(req.headers['x-cco-signature'] ?? '');
        const path = req.url ?? '/';
        const secret = this.secrets.get(path);
        const r = {
          at: Date.now(), path, event: String(req.headers['x-cco-event'] ?? ''), delivery: String(req.headers['x-cco-delivery'] ?? ''), signature,
          valid: secret !== undefined && verify(secret, body, signature), body, json: JSON.parse(body) as Received['json'],
        };
        const answer = this.respond(r);
        const { status, delayMs } = typeof answer === 'number' ? { status: answer, delayMs: 0 } : answer;
        this.received.push({ ...r, status });
        setTimeout(() => {
          if (!res.destroyed) res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : `no: ${status}`);
        }, delayMs);
      });
    });
  }

  /** Listens (again, on the same port after down()). */
  async up(): Promise<void> {
    if (this.#server.listening) return;
    this.#server = this.#make();
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  /** Stops listening and drops open connections: deliveries now fail to connect. */
  async down(): Promise<void> {
    if (!this.#server.listening) return;
    const closed = new Promise((r) => this.#server.close(r));
    this.#server.closeAllConnections();
    await closed;
  }

  /** Deliveries answered 2xx, in arrival order. */
  accepted(): Received[] {
    return this.received.filter((r) => r.status >= 200 && r.status < 300);
  }

  stop(): Promise<void> {
    return this.down();
  }
}
