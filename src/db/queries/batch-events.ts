/**
 * A hook batch (POST /api/hooks/batch) with events other than tool events, once its sessions are
 * upserted and locked, in one statement: the tool logs, each event row, the message it carries
 * when its row is new (a prompt, a Stop's answer), and each touched session's updated_at and
 * first title. Sent one at a time these were two to three round trips per event inside the
 * batch's transaction; under load each round trip waits for a core, and the batches that carry a
 * turn's edges were the slowest tenth of bench:api's requests.
 *
 * Same meaning as the one-event statements in order: a log whose (session, tool_use_id), or an
 * event whose (session, event, key), is stored already writes nothing; a session without a title
 * takes the first line of its first user message (lib/title.ts); messages get ids in batch order.
 */
import { sql } from 'kysely';
import { titleFromPrompt } from '../../lib/title.ts';
import { unnestRows } from '../binary-rows.ts';
import { PREPARED } from '../prepared.ts';
import { storableRow } from '../text.ts';
import { LOG_COLUMNS, sentLogRow, storableLog, type CommandLogRow, type NewCommandLogRow } from './command-logs.ts';
import type { MessageRow, NewMessageRow } from './messages.ts';
import type { NewSessionEventRow, SessionEventRow } from './session-events.ts';
import type { Executor, SessionRow } from './sessions.ts';

const EVENT_COLUMNS = {
  session_id: 'uuid', event: 'text', event_key: 'text', data: 'jsonb',
  msg_direction: 'text', msg_content: 'text', msg_source: 'text', msg_metadata: 'jsonb', msg_title: 'text',
} as const;

export interface BatchEventItem {
  event: NewSessionEventRow;
  /** Stored only when the event row is new. */
  message?: Omit<NewMessageRow, 'session_id'> | undefined;
}

export interface BatchEventOutcome {
  /** Undefined: a redelivery, nothing written. */
  event: SessionEventRow | undefined;
  message: MessageRow | undefined;
  /** The session after this statement, on the one message that gave it its title. */
  titled: SessionRow | undefined;
}

export interface BatchLogItem {
  session_id: string;
  log: NewCommandLogRow;
}

export async function insertBatchEvents(
  db: Executor,
  items: readonly BatchEventItem[],
  logItems: readonly BatchLogItem[] = [],
): Promise<{ events: BatchEventOutcome[]; logs: (CommandLogRow | undefined)[] }> {
  const logInput = logItems.map((it) => ({ session_id: it.session_id, ...storableLog(it.log) }));
  const input = items.map((it) => {
    const e = storableRow(it.event, { in: 'data', key: '_text_replaced' });
    const m = it.message && storableRow({ ...it.message, session_id: e.session_id }, { in: 'metadata' });
    return {
      session_id: e.session_id, event: e.event, event_key: e.event_key, data: e.data,
      msg_direction: m?.direction ?? null, msg_content: m?.content ?? null, msg_source: m?.source ?? null, msg_metadata: m?.metadata ?? null,
      msg_title: m && m.direction === 'user' ? titleFromPrompt(m.content) : null,
    };
  });
  // Event ids are drawn in batch order (unnest yields the arrays in order), so each
  // returned row is matched to its item by id. Messages take their ids as they are inserted,
  // in batch order: sorted by id, they follow the items whose event was new and had one.
  const r = await sql<{
    logs: Pick<CommandLogRow, 'id' | 'session_id' | 'timestamp'>[];
    log_ids: string[];
    events: SessionEventRow[];
    event_ids: string[];
    messages: MessageRow[];
    sessions: (SessionRow & { was_untitled: boolean })[];
  }>`${PREPARED}
    with log_input as materialized (
      select x.*, nextval('command_logs_id_seq'::regclass) as log_id
      from ${unnestRows('x', { session_id: 'uuid', ...LOG_COLUMNS }, logInput)}
    ),
    ins as (
      insert into command_logs (id, session_id, tool_use_id, tool, input, result, result_truncated, result_size, status, duration_ms, metadata)
      select log_id, session_id, tool_use_id, tool, input, result, result_truncated, result_size, status, duration_ms, metadata
      from log_input order by ord
      on conflict (session_id, tool_use_id) do nothing
      returning id, session_id, timestamp
    ),
    input as materialized (
      select x.*, nextval('session_events_id_seq'::regclass) as ev_id
      from ${unnestRows('x', EVENT_COLUMNS, input)}
    ),
    ev as (
      insert into session_events (id, session_id, event, event_key, data)
      select ev_id, session_id, event, event_key, data from input order by ord
      on conflict (session_id, event, event_key) do nothing
      returning *
    ),
    carried as materialized (
      select i.* from input i join ev on ev.id = i.ev_id where i.msg_content is not null
    ),
    msg as (
      insert into session_messages (session_id, direction, content, source, metadata)
      select session_id, msg_direction, msg_content, msg_source, msg_metadata from carried order by ord
      returning *
    ),
    earlier as (
      select s.id, s.title is null as was_untitled from sessions s where s.id in (select session_id from carried)
    ),
    touched as (
      update sessions s set updated_at = now(), title = coalesce(s.title, t.title)
        from (select session_id, (array_agg(msg_title order by ord) filter (where msg_title is not null))[1] as title
                from carried group by session_id) t
       where s.id = t.session_id
      returning s.*
    )
    select (select coalesce(jsonb_agg(ins), '[]'::jsonb) from ins) as logs,
           (select coalesce(jsonb_agg(log_id::text order by ord), '[]'::jsonb) from log_input) as log_ids,
           (select coalesce(jsonb_agg(ev), '[]'::jsonb) from ev) as events,
           (select coalesce(jsonb_agg(ev_id::text order by ord), '[]'::jsonb) from input) as event_ids,
           (select coalesce(jsonb_agg(msg order by msg.id), '[]'::jsonb) from msg) as messages,
           (select coalesce(jsonb_agg(to_jsonb(touched) || jsonb_build_object('was_untitled', earlier.was_untitled)), '[]'::jsonb)
              from touched join earlier on earlier.id = touched.id) as sessions`.execute(db);
  const row = r.rows[0];
  if (!row) throw new Error('batch event insert returned no row');
  const events = new Map(row.events.map((e) => [String(e.id), e]));
  const messages = row.messages;
  const sessions = new Map(row.sessions.map(({ was_untitled, ...s }) => [s.id, { row: s as SessionRow, wasUntitled: was_untitled }]));
  const made = new Map(row.logs.map((l) => [String(l.id), l]));
  const logs = logInput.map((sent, ord) => {
    const m = made.get(String(row.log_ids[ord]));
    return m && sentLogRow(m, sent);
  });
  const titledDone = new Set<string>();
  let next = 0;
  const outcomes = items.map((it, ord): BatchEventOutcome => {
    const event = events.get(String(row.event_ids[ord]));
    const sent = input[ord]!;
    const message = event && sent.msg_content !== null ? messages[next++] : undefined;
    if (event && sent.msg_content !== null && !message) throw new Error('batch event insert lost a message');
    // The first titled message of a session that had no title is the one that named it.
    const s = message ? sessions.get(it.event.session_id) : undefined;
    const names = s !== undefined && s.wasUntitled && sent.msg_title !== null && !titledDone.has(it.event.session_id);
    if (names) titledDone.add(it.event.session_id);
    return { event, message: message && { ...message, session_titled: names }, titled: names ? s.row : undefined };
  });
  return { events: outcomes, logs };
}
