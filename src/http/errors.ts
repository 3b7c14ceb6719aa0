/**
 * One error handler for the whole API: every failure leaves as
 * {"error":{"code","message"}} with a stable code. 5xx bodies hide internals.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError } from '../lib/errors.ts';
import { BAD_TEXT_MESSAGE } from '../lib/text.ts';
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
      const code = err.validation.some((v) => v.message === BAD_TEXT_MESSAGE) ? 'invalid_text' : 'invalid_request';
      return reply.code(400).send({ error: { code, message: parts.join('; ') } });
    }
    if (err instanceof AppError && err.statusCode < 500) {
      return reply.code(err.statusCode).send({ error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } });
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
    return sendServerError(req, reply, err);
  });

  app.setNotFoundHandler((req, reply) => {
    if (opts.dashboard && isDashboardPath(req)) return sendDashboardIndex(reply);
    reply.code(404).send({ error: { code: 'route_not_found', message: `no route for ${req.method} ${req.url.split('?')[0]}` } });
  });
}

/**
 * A 5xx: the cause goes to the log under the request's id (the log line's reqId), the
 * client gets that id (header and body) and a message that names no internals.
 */
function sendServerError(req: FastifyRequest, reply: FastifyReply, err: FastifyError) {
  const status = err instanceof AppError ? err.statusCode : 500;
  const code = err instanceof AppError ? err.code : 'internal_error';
  req.log.error({ err, status }, 'request failed');
  const message = `the server could not complete this request; see its log for request id ${req.id}`;
  return reply.code(status).header('x-request-id', req.id).send({ error: { code, message, request_id: req.id } });
}

/** Fastify's own errors before routing (bad percent-encoding, a path parameter over maxParamLength). */
export function frameworkErrorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  void reply.header('x-request-id', req.id);
  if (err.code === 'FST_ERR_BAD_URL') {
    void reply.code(400).send({ error: { code: 'invalid_url', message: 'the URL path is not valid percent-encoding' } });
  } else if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    void reply.code(414).send({ error: { code: 'path_parameter_too_long', message: 'a path parameter is longer than the server accepts' } });
  } else {
    void reply.code(err.statusCode ?? 400).send({ error: { code: (err.code ?? 'bad_request').toLowerCase(), message: err.message } });
  }
}

/**
 * Errors Node's HTTP parser raises before there is a request (headers or URL too
 * large, malformed HTTP): answer in the API's error shape when the socket can still
 * be written, then close it. The rest of the request is read and dropped first, so
 * closing does not reset the connection before the client has read the answer.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message]: [number, string, string] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'headers_too_large', 'the request line or headers are larger than the server accepts']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request_timeout', 'the request was not received in time']
        : [400, 'bad_http_request', 'the request is not valid HTTP/1.1'];
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ error: { code, message } });
  socket.on('error', () => {});
  socket.resume();
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  setTimeout(() => socket.destroy(), 2000).unref();
}
