/**
 * Session export (issue 16): the sessions a filter selects, with their messages and logs,
 * as one streamed JSON document, as CSV (one table) or as a zip of the three CSV files.
 *
 * Everything is an async generator read in keyset batches (src/db/queries/export.ts) and
 * pulled by the HTTP response: a batch is read only when the client has taken the previous
 * output (backpressure), so memory stays flat whatever the size. The batches are separate
 * statements, not one snapshot: rows written during a long export may or may not be in it.
 */
import type { Database } from '../db/database.ts';
import { logsAfter, messagesAfter, sessionsAfter, type ItemPosition } from '../db/queries/export.ts';
import type { SessionFilter } from '../db/queries/session-filter.ts';
import { toCommandLog, toMessage, toSession } from '../sessions/mappers.ts';
import { LOG_COLUMNS, MESSAGE_COLUMNS, SESSION_COLUMNS, csvLine, logCsv, messageCsv, sessionCsv } from './csv.ts';
import { ZipWriter } from './zip.ts';

export const EXPORT_FORMATS = ['json', 'csv', 'zip'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export const EXPORT_TABLES = ['sessions', 'messages', 'logs'] as const;
export type ExportTable = (typeof EXPORT_TABLES)[number];

const SESSION_BATCH = 200;
const ITEM_BATCH = 1000;
/** Output is handed to the socket in pieces of about this size (fewer, larger writes). */
const CHUNK = 64 * 1024;

type ItemFetch<R> = (ids: string[], after: ItemPosition | undefined, limit: number) => Promise<R[]>;

/** A row's text (one CSV line or one JSON object) and its session. */
interface RowText {
  sessionId: string;
  text: string;
}

/**
 * The rows of these sessions in keyset batches, each batch turned into text as soon as it is read:
 * the row objects die young (in V8's new space) instead of living on while their batch is written
 * out, which promoted them to the old generation and grew the heap by hundreds of MB per 1M rows.
 */
async function* textBatches<R extends { session_id: string; id: string | number }>(fetch: ItemFetch<R>, ids: string[], line: (r: R) => string): AsyncGenerator<RowText[]> {
  let after: ItemPosition | undefined;
  for (;;) {
    const rows = await fetch(ids, after, ITEM_BATCH);
    const last = rows[rows.length - 1];
    if (rows.length) yield rows.map((r) => ({ sessionId: r.session_id, text: line(r) }));
    if (!last || rows.length < ITEM_BATCH) return;
    after = { sessionId: last.session_id, id: String(last.id) };
  }
}

async function* rowTexts<R extends { session_id: string; id: string | number }>(fetch: ItemFetch<R>, ids: string[], line: (r: R) => string): AsyncGenerator<RowText> {
  for await (const batch of textBatches(fetch, ids, line)) yield* batch;
}

async function* csvTexts<R extends { session_id: string; id: string | number }>(fetch: ItemFetch<R>, ids: string[], line: (r: R) => string): AsyncGenerator<string> {
  for await (const batch of textBatches(fetch, ids, line)) yield batch.map((r) => r.text).join('');
}

/** One-item lookahead over an async iterator (the JSON writer merges three ordered streams). */
class Peek<T> {
  #head: T | undefined;
  #done = false;
  constructor(private readonly it: AsyncIterator<T>) {}
  async peek(): Promise<T | undefined> {
    if (this.#head === undefined && !this.#done) {
      const r = await this.it.next();
      if (r.done) this.#done = true;
      else this.#head = r.value;
    }
    return this.#head;
  }
  take(): T | undefined {
    const h = this.#head;
    this.#head = undefined;
    return h;
  }
}

/** Joins small strings into CHUNK-sized ones. */
async function* chunked(parts: AsyncIterable<string>): AsyncGenerator<string> {
  let buf = '';
  for await (const p of parts) {
    buf += p;
    if (buf.length >= CHUNK) {
      yield buf;
      buf = '';
    }
  }
  if (buf) yield buf;
}

/** What to export: the worker thread gets this (plain data) and runs it (in-worker.ts). */
export type ExportJob = { format: 'json'; filter: SessionFilter } | { format: 'csv'; filter: SessionFilter; table: ExportTable } | { format: 'zip'; filter: SessionFilter };

export class SessionExport {
  constructor(readonly database: Database) {}

  private get db() {
    return this.database.db;
  }

  async *#sessionBatches(filter: SessionFilter) {
    let after: string | undefined;
    for (;;) {
      const rows = await sessionsAfter(this.db, filter, after, SESSION_BATCH);
      if (rows.length) yield rows;
      if (rows.length < SESSION_BATCH) return;
      after = rows[rows.length - 1]!.id;
    }
  }

  /** Whether the session exists and the caller may read it (visibleTo: a user key's own sessions only). */
  async visible(sessionId: string, visibleTo: string | undefined): Promise<boolean> {
    return (await sessionsAfter(this.db, { sessionId, visibleTo }, undefined, 1)).length === 1;
  }

  #messages = (ids: string[], after: ItemPosition | undefined, limit: number) => messagesAfter(this.db, ids, after, limit);
  #logs = (ids: string[], after: ItemPosition | undefined, limit: number) => logsAfter(this.db, ids, after, limit);

  run(job: ExportJob): AsyncGenerator<string | Buffer> {
    return job.format === 'json' ? this.json(job.filter) : job.format === 'csv' ? this.csv(job.filter, job.table) : this.zip(job.filter);
  }

  /** `{"exported_at": ..., "sessions": [{...session, "messages": [...], "logs": [...]}, ...]}` */
  json(filter: SessionFilter): AsyncGenerator<string> {
    return chunked(this.#jsonParts(filter));
  }

  async *#jsonParts(filter: SessionFilter): AsyncGenerator<string> {
    yield `{"exported_at":${JSON.stringify(new Date().toISOString())},"sessions":[`;
    let first = true;
    for await (const batch of this.#sessionBatches(filter)) {
      const ids = batch.map((s) => s.id);
      const msgs = new Peek(rowTexts(this.#messages, ids, (r) => JSON.stringify(toMessage(r))));
      const logs = new Peek(rowTexts(this.#logs, ids, (r) => JSON.stringify(toCommandLog(r))));
      for (const row of batch) {
        const s = JSON.stringify(toSession(row));
        yield `${first ? '' : ','}${s.slice(0, -1)},"messages":[`;
        first = false;
        for (let n = 0; (await msgs.peek())?.sessionId === row.id; n++) yield (n ? ',' : '') + msgs.take()!.text;
        yield '],"logs":[';
        for (let n = 0; (await logs.peek())?.sessionId === row.id; n++) yield (n ? ',' : '') + logs.take()!.text;
        yield ']}';
      }
    }
    yield ']}\n';
  }

  /** One table as CSV with a header line. */
  csv(filter: SessionFilter, table: ExportTable): AsyncGenerator<string> {
    return chunked(this.#csvParts(filter, table));
  }

  async *#csvParts(filter: SessionFilter, table: ExportTable): AsyncGenerator<string> {
    if (table === 'sessions') {
      yield csvLine([...SESSION_COLUMNS]);
      for await (const batch of this.#sessionBatches(filter)) yield batch.map((r) => sessionCsv(toSession(r))).join('');
    } else if (table === 'messages') {
      yield csvLine([...MESSAGE_COLUMNS]);
      for await (const batch of this.#sessionBatches(filter)) yield* csvTexts(this.#messages, batch.map((s) => s.id), (r) => messageCsv(toMessage(r)));
    } else {
      yield csvLine([...LOG_COLUMNS]);
      for await (const batch of this.#sessionBatches(filter)) yield* csvTexts(this.#logs, batch.map((s) => s.id), (r) => logCsv(toCommandLog(r)));
    }
  }

  /** sessions.csv, messages.csv and logs.csv in one zip. */
  async *zip(filter: SessionFilter): AsyncGenerator<Buffer> {
    const z = new ZipWriter();
    for (const table of EXPORT_TABLES) {
      yield z.begin(`${table}.csv`);
      for await (const chunk of this.csv(filter, table)) yield z.data(Buffer.from(chunk, 'utf8'));
      yield z.end();
    }
    yield z.finish();
  }
}
