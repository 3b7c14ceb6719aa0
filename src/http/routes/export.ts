/** GET /api/export: one session, or the sessions a filter selects, streamed as JSON, CSV or zip (issue 16). */
import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { EXPORT_FORMATS, EXPORT_TABLES, type ExportJob, type SessionExport } from '../../export/export.ts';
import { writeExport } from '../../export/in-worker.ts';
import { badRequest, notFound } from '../../lib/errors.ts';
import { errorSchema, uuidParam } from '../schemas.ts';
import { searchText, sessionFilterShape, toSessionFilter } from '../session-filters.ts';

const TYPES = { json: 'application/json; charset=utf-8', csv: 'text/csv; charset=utf-8', zip: 'application/zip' } as const;

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
        'zip: sessions.csv, messages.csv and logs.csv. Streamed from a worker thread with bounded memory; a failure midway cuts the connection (a truncated body).',
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
    const job: ExportJob = format === 'csv' ? { format, filter, table: table ?? 'sessions' } : { format, filter };
    req.log.info({ export: what }, 'export started');
    // Written straight to the socket (writeExport): the worker's buffers go back to it once written.
    reply.header('content-type', TYPES[format]).header('content-disposition', `attachment; filename="${name}"`).header('cache-control', 'no-store');
    const headers: OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) headers[k] = v;
    reply.hijack();
    reply.raw.writeHead(200, headers);
    try {
      const bytes = await writeExport(exporter.database, job, reply.raw);
      req.log.info({ export: what, bytes }, 'export finished');
    } catch (err) {
      // After the first byte a failure cannot become an error response: the connection is cut (the client sees a truncated body).
      req.log.error({ err, export: what }, 'export failed mid-stream; the response is cut short');
      reply.raw.destroy();
    }
  });
};
