/**
 * The dashboard's fetchers (web/src/api/queries.ts) against events that arrive while a
 * fetch is in flight: foldable ones are folded in; an approval, which changes a count
 * the events do not carry, makes the fetcher load again.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { fetchers } from '../../web/src/api/queries.ts';
import type { LiveEvent, Session } from '../../web/src/api/types.ts';
import type { LiveConnection } from '../../web/src/features/live/live-connection.ts';

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

const session = (pending: number, updated = '2026-01-01T00:00:05.000Z'): Session => ({
  id: 'a', claude_session_id: null, project_path: '/srv/a', project_type: 'local', status: 'active', source: 'api', owner: null,
  created_at: '2026-01-01T00:00:00.000Z', updated_at: updated, metadata: {}, pending_approvals: pending,
});

/** A stand-in for the live connection: the events a test pushes count as received during the fetch. */
function fakeLive() {
  const recent: LiveEvent[] = [];
  const live = {
    lastSeq: 0 as number | undefined,
    whenReady: () => Promise.resolve(),
    replaySince: (seq: number | undefined) => (seq === undefined ? [] : recent.filter((e) => e.seq > seq)),
    receive(e: Record<string, unknown> & { type: LiveEvent['type']; session_id: string }) {
      const seq = (live.lastSeq ?? 0) + 1;
      recent.push({ seq, at: '', ...e } as LiveEvent);
      live.lastSeq = seq;
    },
  };
  return live;
}

/** Each GET answers the next body; `during` runs while the request is in flight (the server already answered). */
function serve(bodies: unknown[], during: (n: number) => void = () => {}): { calls: () => number } {
  let n = 0;
  globalThis.fetch = (async () => {
    const body = bodies[Math.min(n, bodies.length - 1)];
    during(n++);
    return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  return { calls: () => n };
}

test('an approval that arrives during the first load of a session: loaded again, the count is current', async () => {
  const live = fakeLive();
  const http = serve([session(0), session(1)], (n) => {
    if (n === 0) live.receive({ type: 'approval.updated', session_id: 'a', approval: { id: 'p1', session_id: 'a', status: 'pending' } });
  });
  const s = await fetchers(live as unknown as LiveConnection).session('a');
  assert.equal(http.calls(), 2);
  assert.equal(s.pending_approvals, 1);
});

test('an approval of another session, or a session update, is folded without a second load', async () => {
  const live = fakeLive();
  const http = serve([session(0)], () => {
    live.receive({ type: 'approval.updated', session_id: 'b', approval: { id: 'p2', session_id: 'b', status: 'pending' } });
    live.receive({ type: 'session.updated', session_id: 'a', session: { ...session(0, '2026-01-01T00:00:09.000Z'), status: 'paused', pending_approvals: undefined } });
  });
  const s = await fetchers(live as unknown as LiveConnection).session('a');
  assert.equal(http.calls(), 1);
  assert.equal(s.status, 'paused', 'the update was folded in');
  assert.equal(s.pending_approvals, 0, 'the loaded count is kept');
});

test('a list loads again after any approval; a stream of approvals stops after three loads', async () => {
  const live = fakeLive();
  const http = serve([{ data: [session(0)], next_cursor: null }], () => {
    live.receive({ type: 'approval.updated', session_id: 'a', approval: { id: 'p3', session_id: 'a', status: 'pending' } });
  });
  const page = await fetchers(live as unknown as LiveConnection).sessionsPage({}, null);
  assert.equal(http.calls(), 3, 'at most three loads, then what was loaded is kept');
  assert.equal(page.data[0]!.id, 'a');
});
