/** GET /api/sessions filters and full-text search `q` (issue 16), through HTTP. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { call, createTestApp, roleKeys, type TestApp } from './helpers/app.ts';

let t: TestApp;
let keys: Awaited<ReturnType<typeof roleKeys>>;
const ids: Record<string, string> = {};
let between = '';

const tool = (claudeId: string, toolUseId: string, name: string, input: Record<string, unknown>, stdout: string) => ({
  session_id: claudeId,
  hook_event_name: 'PostToolUse',
  cwd: '/srv/work/proj',
  tool_name: name,
  tool_input: input,
  tool_response: { stdout, stderr: '' },
  tool_use_id: toolUseId,
  duration_ms: 5,
});

before(async () => {
  t = await createTestApp({ auth: 'keys' });
  keys = await roleKeys(t.auth);
  const make = async (name: string, key: string, body: Record<string, unknown>) => {
    const r = await call(t.app, 'POST', '/api/sessions', { project_path: `/srv/${name}`, claude_session_id: `claude-${name}`, ...body }, key);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    ids[name] = r.body.id;
  };
  const say = async (name: string, key: string, content: string, direction = 'user') => {
    const r = await call(t.app, 'POST', `/api/sessions/${ids[name]}/messages`, { direction, content, run: false }, key);
    assert.equal(r.status, 201, JSON.stringify(r.body));
  };
  await make('kraken', keys.alice, { source: 'slack', project_type: 'github' });
  await say('kraken', keys.alice, 'The kraken parser fails on nested brackets; please fix the kraken tokenizer.');
  await say('kraken', keys.alice, 'Fixed: the kraken tokenizer now balances brackets.', 'assistant');
  await make('deploy', keys.alice, { source: 'cli' });
  await say('deploy', keys.alice, 'Deploy the billing service to staging, then mention the kraken once.');
  let r = await call(t.app, 'POST', '/api/hooks/tool-complete', tool('claude-deploy', 'toolu_d1', 'Bash', { command: 'kubectl rollout status deploy/billing' }, 'deployment "billing" successfully rolled out'), keys.alice);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await new Promise((res) => setTimeout(res, 30));
  between = new Date().toISOString();
  await new Promise((res) => setTimeout(res, 30));
  await make('bobs', keys.bob, { source: 'api' });
  await say('bobs', keys.bob, 'Bob asks about the kraken too, and about <script>alert(1)</script> escaping.');
  r = await call(t.app, 'POST', '/api/hooks/tool-complete', tool('claude-bobs', 'toolu_b1', 'Grep', { pattern: 'zeppelin' }, 'src/zeppelin.ts:1: export const zeppelin = 1'), keys.bob);
  assert.equal(r.status, 200, JSON.stringify(r.body));
});
after(async () => {
  await t.close();
});

const names = (body: { data: { id: string }[] }) => body.data.map((s) => Object.keys(ids).find((k) => ids[k] === s.id) ?? s.id);
async function list(qs: string, key = keys.admin) {
  const r = await call(t.app, 'GET', `/api/sessions?${qs}`, undefined, key);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}
const sorted = async (qs: string, key = keys.admin) => names(await list(qs, key)).sort();

describe('filters', () => {
  test('status, project_type, source, owner, tool', async () => {
    assert.deepEqual(await sorted('project_type=github'), ['kraken']);
    assert.deepEqual(await sorted('source=cli'), ['deploy']);
    assert.deepEqual(await sorted('source=slack&project_type=github'), ['kraken']);
    assert.deepEqual(await sorted('owner=alice'), ['deploy', 'kraken']);
    assert.deepEqual(await sorted('owner=bob'), ['bobs']);
    assert.deepEqual(await sorted('tool=Bash'), ['deploy']);
    assert.deepEqual(await sorted('tool=Grep'), ['bobs']);
    assert.deepEqual(await sorted('tool=Edit'), []);
    assert.deepEqual(await sorted('status=active'), ['bobs', 'deploy', 'kraken']);
    assert.deepEqual(await sorted('status=paused'), []);
  });

  test('created and updated ranges (times and dates)', async () => {
    assert.deepEqual(await sorted(`created_before=${between}`), ['deploy', 'kraken']);
    assert.deepEqual(await sorted(`created_after=${between}`), ['bobs']);
    assert.deepEqual(await sorted(`updated_after=${between}`), ['bobs']);
    const today = between.slice(0, 10);
    assert.deepEqual(await sorted(`created_after=${today}`), ['bobs', 'deploy', 'kraken']);
    assert.deepEqual(await sorted(`created_before=${today}`), []);
  });

  test('a user key sees only its own sessions, whatever owner it asks for', async () => {
    assert.deepEqual(await sorted('', keys.bob), ['bobs']);
    assert.deepEqual(await sorted('owner=alice', keys.bob), []);
    assert.deepEqual(await sorted('owner=bob', keys.bob), ['bobs']);
    assert.deepEqual(await sorted('', keys.viewer), ['bobs', 'deploy', 'kraken']);
  });

  test('bad input is 400 with a code', async () => {
    for (const [qs, code] of [
      ['status=sleeping', 'invalid_request'],
      ['created_after=yesterday', 'invalid_request'],
      ['updated_before=2026-13-01', 'invalid_request'],
      ['created_after=2026-02-01&created_before=2026-01-01', 'invalid_time_range'],
      ['tool=', 'invalid_request'],
      [`q=${'x'.repeat(201)}`, 'invalid_request'],
      ['frobnicate=1', 'invalid_request'],
      ['q=kraken&cursor=bm9wZQ', 'invalid_cursor'],
    ] as const) {
      const r = await call(t.app, 'GET', `/api/sessions?${qs}`, undefined, keys.admin);
      assert.equal(r.status, 400, `${qs}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, code, qs);
    }
  });
});

const pending = async () => {
  const r = await sql<{ n: number }>`select ((select count(*) from session_messages where search is null) + (select count(*) from command_logs where search is null))::int as n`.execute(t.db.database.db);
  return Number(r.rows[0]?.n);
};

/**
 * The same answers whether a row has its stored vector yet or not (migration 0018): run once with
 * every row still waiting for the indexer (checked on the spot), once after it has run (GIN index).
 */
function fullTextTests() {
  test('finds words in messages and in tool inputs and results, best match first', async () => {
    const body = await list('q=kraken');
    assert.deepEqual([...names(body)].sort(), ['bobs', 'deploy', 'kraken']);
    assert.equal(names(body)[0], 'kraken', 'the session that talks most about it ranks first');
    const ranks = body.data.map((s: { search: { rank: number } }) => s.search.rank);
    assert.deepEqual([...ranks].sort((a, b) => b - a), ranks);
    assert.ok(body.data[0].search.hits >= 2);
    assert.deepEqual(await sorted('q=kubectl'), ['deploy']); // tool input
    assert.deepEqual(await sorted('q=rolled'), ['deploy']); // tool result
    assert.deepEqual(await sorted('q=zeppelin'), ['bobs']);
    assert.deepEqual(await sorted('q=nonexistentword'), []);
  });

  test('phrases, or and exclusion (websearch syntax); case-insensitive', async () => {
    assert.deepEqual(await sorted(`q=${encodeURIComponent('"kraken tokenizer"')}`), ['kraken']);
    assert.deepEqual(await sorted(`q=${encodeURIComponent('"tokenizer kraken"')}`), []);
    assert.deepEqual(await sorted(`q=${encodeURIComponent('zeppelin or kubectl')}`), ['bobs', 'deploy']);
    assert.deepEqual(await sorted(`q=${encodeURIComponent('kraken -billing -bob')}`), ['kraken']);
    assert.deepEqual(await sorted('q=KRAKEN'), ['bobs', 'deploy', 'kraken']);
    assert.deepEqual(await sorted(`q=${encodeURIComponent('%_')}`), []); // no words: no match, no error
  });

  test('snippets: plain text with highlight offsets into it', async () => {
    const body = await list('q=kraken');
    for (const s of body.data) {
      const snip = s.search.snippet;
      assert.ok(snip, 'every hit has a snippet');
      assert.ok(['message', 'log'].includes(snip.kind));
      assert.ok(snip.highlights.length >= 1);
      for (const [a, b] of snip.highlights) assert.equal(snip.text.slice(a, b).toLowerCase(), 'kraken');
      assert.ok(!snip.text.includes('\u0001') && !snip.text.includes('\u0002'), 'no marker left in the text');
      const item = await call(t.app, 'GET', `/api/sessions/${s.id}/${snip.kind === 'message' ? 'messages' : 'logs'}/${snip.item_id}`, undefined, keys.admin);
      assert.equal(item.status, 200);
    }
    const bobs = body.data.find((s: { id: string }) => s.id === ids.bobs);
    assert.match(bobs.search.snippet.text, /kraken/);
    const log = (await list('q=kubectl')).data[0].search.snippet;
    assert.equal(log.kind, 'log');
    assert.equal(log.text.slice(log.highlights[0][0], log.highlights[0][1]), 'kubectl');
  });

  test('combines with filters and owner isolation', async () => {
    assert.deepEqual(await sorted('q=kraken&owner=alice'), ['deploy', 'kraken']);
    assert.deepEqual(await sorted('q=kraken&source=api'), ['bobs']);
    assert.deepEqual(await sorted('q=kraken&tool=Bash'), ['deploy']);
    assert.deepEqual(await sorted(`q=kraken&created_after=${between}`), ['bobs']);
    assert.deepEqual(await sorted('q=kraken', keys.bob), ['bobs']);
    assert.deepEqual(await sorted('q=kubectl', keys.bob), []);
    assert.deepEqual(await sorted('q=zeppelin', keys.alice), []);
    assert.deepEqual(await sorted('q=kraken&owner=alice', keys.bob), []);
  });

  test('pages follow next_cursor', async () => {
    const first = await list('q=kraken&limit=2');
    assert.equal(first.data.length, 2);
    assert.ok(first.next_cursor);
    const second = await list(`q=kraken&limit=2&cursor=${first.next_cursor}`);
    assert.equal(second.data.length, 1);
    assert.equal(second.next_cursor, null);
    assert.deepEqual([...names(first), ...names(second)].sort(), ['bobs', 'deploy', 'kraken']);
  });
}

describe('full-text search (q), rows not indexed yet', () => {
  before(async () => {
    assert.ok((await pending()) >= 6, 'the rows are stored without a vector; the search computes theirs');
  });
  fullTextTests();
});

describe('full-text search (q), after the indexer', () => {
  before(async () => {
    assert.ok((await t.searchIndexer.drain()) >= 6);
    assert.equal(await pending(), 0, 'every row has its stored vector');
  });
  fullTextTests();
});
