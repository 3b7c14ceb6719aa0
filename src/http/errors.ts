/**
 * One error handler for the whole API: every failure leaves as
 * {"error":{"code","message"}} with a stable code. 5xx bodies hide internals.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError } from '../lib/errors.ts';
import { isDashboardPath, sendDashboardIndex } from './web.ts';

const FASTIFY_CODES: Record<string, { status: number; code: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'body_too_large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'invalid_json' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'invalid_content_length' },
};

/** `dashboard`: unknown page paths asked for as HTML get the dashboard's index.html (its router owns them). */
export function registerErrorHandling(app: FastifyInstance, opts: { dashboard: boolean } = { dashboard: false }): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const where = err.validationContext ?? 'request';
      const parts = err.validation.map((v) => {
        const field = v.instancePath.replace(/^\//, '').replaceAll('/', '.');
        return `${where}${field ? `.${field}` : ''}: ${v.message}`;
      });
      return reply.code(400).send({ error: { code: 'invalid_request', message: parts.join('; ') } });
    }
    if (err instanceof AppError) {
      return reply.code(err.statusCode).send({ error: { code: err.code, message: err.message } });
    }
    const mapped = err.code ? FASTIFY_CODES[err.code] : undefined;
    if (mapped) return reply.code(mapped.status).send({ error: { code: mapped.code, message: err.message } });
    if (err instanceof SyntaxError || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
      return reply.code(400).send({ error: { code: 'invalid_json', message: `body is not valid JSON: ${err.message}` } });
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return reply.code(status).send({ error: { code: (err.code ?? 'bad_request').toLowerCase(), message: err.message } });
    }
    req.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: { code: 'internal_error', message: 'internal error; see the server log' } });
  });

  app.setNotFoundHandler((req, reply) => {
    if (opts.dashboard && isDashboardPath(req)) return sendDashboardIndex(reply);
    reply.code(404).send({ error: { code: 'route_not_found', message: `no route for ${req.method} ${req.url.split('?')[0]}` } });
  });
}
