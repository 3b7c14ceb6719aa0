/**
 * REQUEST_TIMEOUT_MS: a request the server has not answered in time gets
 * 503 request_timeout instead of holding the client (and its connection)
 * indefinitely. The handler cannot be stopped midway, so whatever it was doing
 * finishes in the background and its late answer is dropped. Event streams are
 * exempt: they are meant to stay open. A request that waits for a turn (`wait`,
 * bounded by WAIT_MAX_S) gets its wait added to the limit (waitLonger).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const STREAM_ROUTES = new Set(['/api/events']);

/** Per request: restarts its timer with `extraMs` more (set only while a timeout applies). */
const extenders = new WeakMap<FastifyRequest, (extraMs: number) => void>();

/** The request may take `waitMs` longer than REQUEST_TIMEOUT_MS (a wait the client asked for). */
export function waitLonger(req: FastifyRequest, waitMs: number): void {
  extenders.get(req)?.(waitMs);
}

export function registerRequestTimeout(app: FastifyInstance, timeoutMs: number): void {
  if (timeoutMs <= 0) return;
  const timers = new WeakMap<FastifyRequest, NodeJS.Timeout>();
  const clear = async (req: FastifyRequest) => {
    clearTimeout(timers.get(req));
    timers.delete(req);
    extenders.delete(req);
  };
  const arm = (req: FastifyRequest, reply: FastifyReply, ms: number) => {
    clearTimeout(timers.get(req));
    const timer = setTimeout(() => {
      if (reply.sent || reply.raw.headersSent) return;
      req.log.warn({ url: req.routeOptions.url, method: req.method, timeoutMs: ms }, 'request timed out');
      void reply.code(503).send({ error: { code: 'request_timeout', message: `the server did not answer within REQUEST_TIMEOUT_MS (${timeoutMs} ms); try again later` } });
    }, ms);
    timer.unref();
    timers.set(req, timer);
  };
  app.addHook('onRequest', async (req, reply) => {
    if (STREAM_ROUTES.has(req.routeOptions.url ?? '')) return;
    const started = Date.now();
    arm(req, reply, timeoutMs);
    extenders.set(req, (extraMs) => arm(req, reply, Math.max(0, timeoutMs + extraMs - (Date.now() - started))));
  });
  app.addHook('onResponse', clear);
  app.addHook('onRequestAbort', clear);
}
