/**
 * REQUEST_TIMEOUT_MS: a request the server has not answered in time gets
 * 503 request_timeout instead of holding the client (and its connection)
 * indefinitely. The handler cannot be stopped midway, so whatever it was doing
 * finishes in the background and its late answer is dropped. Event streams are
 * exempt: they are meant to stay open.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';

const STREAM_ROUTES = new Set(['/api/events']);

export function registerRequestTimeout(app: FastifyInstance, timeoutMs: number): void {
  if (timeoutMs <= 0) return;
  const timers = new WeakMap<FastifyRequest, NodeJS.Timeout>();
  const clear = async (req: FastifyRequest) => {
    clearTimeout(timers.get(req));
    timers.delete(req);
  };
  app.addHook('onRequest', async (req, reply) => {
    if (STREAM_ROUTES.has(req.routeOptions.url ?? '')) return;
    const timer = setTimeout(() => {
      if (reply.sent || reply.raw.headersSent) return;
      req.log.warn({ url: req.routeOptions.url, method: req.method, timeoutMs }, 'request timed out');
      void reply.code(503).send({ error: { code: 'request_timeout', message: `the server did not answer within REQUEST_TIMEOUT_MS (${timeoutMs} ms); try again later` } });
    }, timeoutMs);
    timer.unref();
    timers.set(req, timer);
  });
  app.addHook('onResponse', clear);
  app.addHook('onRequestAbort', clear);
}
