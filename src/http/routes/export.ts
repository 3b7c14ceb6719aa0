/** GET /api/export: one session, or the sessions a filter selects, streamed as JSON, CSV or zip (issue 16). */
import { Readable } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { EXPORT_FORMATS, EXPORT_TABLES, type SessionExport } from '../../export/export.ts';
import { badRequest, notFound } from '../../lib/errors.ts';
import { errorSchema, uuidParam } from '../schemas.ts';
import { searchText, sessionFilterShape, toSessionFilter } from '../session-filters.ts';

const TYPES = { json: 'application/json; charset=utf-8', csv: 'text/csv; charset=utf-8', zip: 'application/zip' } as const;

/** A failure after the first byte cannot become an error response: it is logged and the connection cut (the client sees a truncated body). */
async function* logged<T>(gen: AsyncIterable<T>, log: FastifyBaseLogger, what: Record<string, unknown>): AsyncGenerator<T> {
  try {
    yield* gen;
  } catch (err) {
    log.error({ err, export: what }, 'export failed mid-stream; the response is cut short');
    throw err;
  }
}

const stamp = () => new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

export const exportRoutes: FastifyPluginAsyncZod<{ exporter: SessionExport }> = async (app, { exporter }) => {
  app.get('/api/export', {
    config: { access: 'read' },
    schema: {
      tags: ['sessions'],
      summary: 'Export sessions with their messages and tool logs (JSON, CSV or zip), streamed',
      description:
        'Selects sessions like GET /api/sessions (the same filters; `q` selects sessions with any matching message or log), or one with session_id. ' +
        'json: one document {"exported_at", "sessions": [{...session, "messages": [...], "logs": [...]}]}. csv: one table (`table`, default sessions), RFC 4180 with a header line. ' +
        'zip: sessions.csv, messages.csv and logs.csv. Streamed with flat server memory; a failure midway cuts the connection (a truncated body).',
      querystring: z.strictObject({
        format: z.enum(EXPORT_FORMATS).default('json'),
        table: z.enum(EXPORT_TABLES).optional().describe('format=csv: which table (default sessions).'),
        session_id: uuidParam.optional().describe('Export only this session.'),
        ...sessionFilterShape,
      }),
      response: { 200: z.unknown().describe('The export file, streamed.'), 400: errorSchema, 404: errorSchema },
    },
  }, async (req, reply) => {
    const { format, table, session_id: sessionId } = req.query;
    if (table && format !== 'csv') throw badRequest('invalid_request', 'table applies to format=csv only');
    const filter = { ...toSessionFilter(req.query, req.principal), text: searchText(req.query), sessionId };
    if (sessionId && !(await exporter.visible(sessionId, filter.visibleTo))) throw notFound('session', sessionId);
    const name = `cco-${sessionId ? `session-${sessionId.slice(0, 8)}` : 'export'}-${stamp()}${format === 'csv' ? `-${table ?? 'sessions'}` : ''}.${format}`;
    const what = { format, table, sessionId };
    const body = format === 'json' ? exporter.json(filter) : format === 'csv' ? exporter.csv(filter, table ?? 'sessions') : exporter.zip(filter);
    req.log.info({ export: what }, 'export started');
    return reply
      .header('content-type', TYPES[format])
      .header('content-disposition', `attachment; filename="${name}"`)
      .header('cache-control', 'no-store')
      .send(Readable.from(logged<string | Buffer>(body, req.log, what), { objectMode: false, highWaterMark: 64 * 1024 }));
  });
};
