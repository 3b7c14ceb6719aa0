/**
 * Secrets never stored (issue 11 point 8): each kind of secret, in a prompt, an assistant
 * message, a tool input and a tool result of a real run, and in hook events (single and
 * batch), is stored as `[redacted]`; log lines are redacted the same way.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { redactorFor } from '../src/main.ts';
import { call, createTestApp, type TestApp } from './helpers/app.ts';
import { run } from './helpers/hook-payloads.ts';
import { createRunnerHarness, waitIdle } from './helpers/runner.ts';

// Every fake value is built at run time: the repository holds nothing a secret scanner would flag.
const rep = (s: string, n: number) => s.repeat(n);
const SERVER_SECRET = `srv-${rep('Q7', 9)}`;
const EXTRA_PATTERN = 'acme-int-[0-9]{12}';

/** One case per pattern: `text` is what appears, `secret` what must never be stored. */
function cases(): { name: string; text: string; secret: string }[] {
  const bearer = rep('bEa7', 8);
  const apiKey = rep('kEy9', 8);
  const pemBody = rep('TUlJRXBBSUJBQUtDQVFFQTZ', 4);
  const password = `pw-${rep('Zx3', 6)}`;
  const same = (name: string, secret: string) => ({ name, text: secret, secret });
  return [
    { name: 'authorization header', text: `Authorization: Bearer ${bearer}`, secret: bearer },
    { name: 'x-api-key header', text: `x-api-key: ${apiKey}`, secret: apiKey },
    same('anthropic', `sk-ant-api03-${rep('a1B2', 10)}`),
    same('openai', `sk-proj-${rep('c3D4', 10)}`),
    same('github token', `ghp_${rep('e5F6', 9)}`),
    same('github fine-grained token', `github_pat_${rep('g7H8', 12)}`),
    same('slack', `xoxb-${rep('1234', 3)}-${rep('abcd', 4)}`),
    same('aws access key id', `AKIA${rep('FAKE', 4)}`),
    same('google', `AIza${rep('i9J0', 8)}xyz`),
    same('stripe', `sk_live_${rep('k1L2', 6)}`),
    same('cco key', `cco_${rep('m3N4', 9)}`),
    {
      name: 'private key block',
      text: [['-----BEGIN RSA', 'PRIVATE', 'KEY-----'].join(' '), pemBody, pemBody, ['-----END RSA', 'PRIVATE', 'KEY-----'].join(' ')].join('\n'),
      secret: pemBody,
    },
    { name: 'password in a URL', text: `postgres://app:${password}@db.internal:5432/prod`, secret: password },
    same("the server's own secret", SERVER_SECRET),
    same('REDACT_PATTERNS', `acme-int-${'123456789012'}`),
  ];
}

const redaction = () => loadConfig({ REDACT_PATTERNS: EXTRA_PATTERN }).redaction;

/** Every stored row of every table, as text. */
async function everything(t: TestApp): Promise<string> {
  const r = await sql<{ t: string }>`
    select coalesce((select string_agg(s::text, ' ') from sessions s), '') ||
           coalesce((select string_agg(m::text, ' ') from session_messages m), '') ||
           coalesce((select string_agg(l::text, ' ') from command_logs l), '') ||
           coalesce((select string_agg(e::text, ' ') from session_events e), '') ||
           coalesce((select string_agg(u::text, ' ') from turns u), '') as t`.execute(t.db.database.db);
  return r.rows[0]!.t;
}

function assertRedacted(where: string, stored: string) {
  assert.ok(stored.includes('[redacted]'), `${where}: nothing was redacted`);
  for (const c of cases()) assert.ok(!stored.includes(c.secret), `${where}: the ${c.name} was stored`);
}

describe('secrets are never stored', () => {
  test('a run: each pattern in the prompt, an assistant message, a tool input and a tool result', async () => {
    const h = await createRunnerHarness({ runner: { secrets: [SERVER_SECRET] }, redaction: redaction() });
    try {
      const all = cases().map((c) => c.text).join('\n');
      // The result prints the secrets from base64, so the tool input alone does not hold them.
      const script = JSON.stringify([
        { tool: 'Bash', input: { command: 'true', description: all } },
        { tool: 'Bash', input: { command: `echo ${Buffer.from(all).toString('base64')} | base64 -d`, description: 'print' } },
        { text: `here they are:\n${all}` },
      ]);
      const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: `SCRIPT_JSON:${script}`, allowed_tools: ['Bash'] });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const id = created.body.id as string;
      await waitIdle(h.t, id, 1);
      const db = h.t.db.database.db;
      const messages = await db.selectFrom('session_messages').selectAll().where('session_id', '=', id).orderBy('id').execute();
      const prompt = messages.find((m) => m.direction === 'user');
      const answer = messages.find((m) => m.direction === 'assistant' && m.content.includes('here they are'));
      assert.ok(prompt && answer, JSON.stringify(messages.map((m) => [m.direction, m.content.slice(0, 80)])));
      assertRedacted('prompt', prompt.content);
      assertRedacted('assistant message', answer.content);
      const logs = await db.selectFrom('command_logs').selectAll().where('session_id', '=', id).orderBy('id').execute();
      assert.equal(logs.length, 2);
      assertRedacted('tool input', JSON.stringify(logs[0]!.input));
      assert.equal(logs[1]!.status, 'completed', String(logs[1]!.result));
      assertRedacted('tool result', String(logs[1]!.result));
      // The rest of each text survives: only the secret itself goes.
      assert.match(String(logs[1]!.result), /Authorization: Bearer \[redacted\]/);
      assert.match(String(logs[1]!.result), /postgres:\/\/app:\[redacted\]@db\.internal:5432\/prod/);
      assertRedacted('any table', await everything(h.t));
    } finally {
      await h.close();
    }
  });

  test('hook events, single and batch: prompts, tool inputs and results, event payloads', async () => {
    const t = await createTestApp({ runner: { secrets: [SERVER_SECRET] }, redaction: redaction() });
    try {
      const all = cases().map((c) => c.text).join('\n');
      const r = run();
      const post = (event: string, payload: unknown) =>
        t.app.inject({ method: 'POST', url: `/api/hooks/${event}`, headers: { 'x-cco-event-id': `${event}-${randomUUID()}` }, payload: payload as object });
      assert.equal((await post('UserPromptSubmit', { ...r.UserPromptSubmit, prompt: all })).statusCode, 200);
      const tool = {
        ...r.PostToolUse,
        tool_use_id: `toolu_${randomUUID()}`,
        tool_input: { command: all, description: 'step', headers: { Authorization: `Bearer ${rep('hdr1', 6)}` } },
        tool_response: { stdout: all, stderr: '', interrupted: false, isImage: false, noOutputExpected: false },
      };
      assert.equal((await post('PostToolUse', tool)).statusCode, 200);
      assert.equal((await post('Notification', { ...r.Notification, message: all })).statusCode, 200);
      const b = run();
      const events = [
        { event: 'UserPromptSubmit', id: `b1-${randomUUID()}`, payload: { ...b.UserPromptSubmit, prompt: all } },
        { event: 'PostToolUse', id: `b2-${randomUUID()}`, payload: { ...b.PostToolUse, tool_input: { command: all }, tool_response: { stdout: all, stderr: '' } } },
        { event: 'PreCompact', id: `b3-${randomUUID()}`, payload: { ...b.PreCompact, custom_instructions: all } },
        { event: 'Stop', id: `b4-${randomUUID()}`, payload: { ...b.Stop, last_assistant_message: all } },
      ];
      const res = await t.app.inject({ method: 'POST', url: '/api/hooks/batch', payload: { events } });
      assert.equal(res.statusCode, 200);
      assert.deepEqual((res.json() as { results: { status: string }[] }).results.map((x) => x.status), ['stored', 'stored', 'stored', 'stored']);

      const db = t.db.database.db;
      const logs = await db.selectFrom('command_logs').selectAll().execute();
      assert.equal(logs.length, 2);
      for (const l of logs) {
        assertRedacted('hook tool input', JSON.stringify(l.input));
        assertRedacted('hook tool result', String(l.result));
      }
      assert.ok(!JSON.stringify(logs).includes('hdr1'), 'an Authorization value in a headers object');
      const messages = await db.selectFrom('session_messages').selectAll().execute();
      assert.deepEqual(messages.map((m) => m.direction).sort(), ['assistant', 'user', 'user']);
      for (const m of messages) assertRedacted(`hook ${m.direction} message`, m.content);
      const stored = await db.selectFrom('session_events').selectAll().where('event', 'in', ['Notification', 'PreCompact']).execute();
      assert.equal(stored.length, 2);
      for (const e of stored) assertRedacted(`hook ${e.event} payload`, JSON.stringify(e.data));
      assertRedacted('any table', await everything(t));
      // What the API and the live stream show comes from the stored rows.
      const sessions = (await call(t.app, 'GET', '/api/sessions')).body.data as { id: string }[];
      for (const s of sessions) {
        assertRedacted('API messages', JSON.stringify((await call(t.app, 'GET', `/api/sessions/${s.id}/messages`)).body));
      }
    } finally {
      await t.close();
    }
  });

  test('a secret across the cut of a long tool result or hook event field is redacted before the cut', async () => {
    const t = await createTestApp({ resultMaxBytes: 2048, runner: { secrets: [SERVER_SECRET] } });
    try {
      const anthropic = `sk-ant-api03-${rep('a1B2', 10)}`;
      for (const secret of [SERVER_SECRET, anthropic]) {
        // The cut at 2048 bytes keeps only the secret's first 8 characters.
        const payload = { ...run().PostToolUse, tool_use_id: `toolu_${randomUUID()}`, tool_response: rep('a', 2039) + ' ' + secret + ' tail' };
        const res = await t.app.inject({ method: 'POST', url: '/api/hooks/PostToolUse', payload });
        assert.equal(res.statusCode, 200);
      }
      // A hook event field is cut at 8 KB the same way.
      const note = await t.app.inject({ method: 'POST', url: '/api/hooks/Notification', payload: { ...run().Notification, message: rep('b', 8 * 1024 - 5) + ' ' + SERVER_SECRET } });
      assert.equal(note.statusCode, 200);
      const ev = await t.db.database.db.selectFrom('session_events').select('data').where('event', '=', 'Notification').executeTakeFirstOrThrow();
      const message = String((ev.data as { message: string }).message);
      assert.ok(!message.includes(SERVER_SECRET.slice(0, 4)) && message.endsWith('[red'), message.slice(-20));
      const logs = await t.db.database.db.selectFrom('command_logs').select(['result', 'result_truncated']).execute();
      assert.equal(logs.length, 2);
      for (const l of logs) {
        assert.equal(l.result_truncated, true);
        assert.ok(!String(l.result).includes(SERVER_SECRET.slice(0, 8)) && !String(l.result).includes(anthropic.slice(0, 8)), String(l.result).slice(-20));
        assert.ok(String(l.result).endsWith('[redacte'), String(l.result).slice(-20));
      }
    } finally {
      await t.close();
    }
  });

  test('log lines: the message, fields and errors', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const config = loadConfig({ REDACT_PATTERNS: EXTRA_PATTERN });
    const logger = createLogger('info', { pretty: false, destination, redactor: redactorFor([SERVER_SECRET], config.redaction) });
    const all = cases().map((c) => c.text).join('\n');
    logger.info({ command: all, nested: { list: [all] }, headers: { 'x-api-key': 'k-' + rep('9', 8) } }, `ran ${all}`);
    logger.error({ err: new Error(`failed: ${all}`) }, 'a failure');
    logger.child({ sessionId: 's1' }).warn(`warned ${all}`);
    assert.equal(lines.length, 3);
    assertRedacted('log', lines.join(''));
    assert.ok(!lines.join('').includes('k-99999999'));
  });

  test('invalid REDACT_PATTERNS or REDACT_DISABLE stop the start with a clear message', () => {
    assert.throws(() => loadConfig({ REDACT_PATTERNS: 'fine_[0-9]+ [unclosed' }), (e: Error) => {
      assert.equal((e as { code?: string }).code, 'invalid_config');
      assert.match(e.message, /REDACT_PATTERNS: "\[unclosed" is not a valid regular expression/);
      return true;
    });
    assert.throws(() => loadConfig({ REDACT_DISABLE: 'aws,bogus' }), /REDACT_DISABLE: unknown rule "bogus"/);
    assert.deepEqual(loadConfig({ REDACT_DISABLE: 'aws' }).redaction.disabled, ['aws']);
  });
});
