import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiClient, ClientError, clientSettings, DEFAULT_SERVER_URL } from './client.ts';
import { describeTool, exitCodeOf } from './follow.ts';

test('clientSettings: flags win over CCO_URL / CCO_API_KEY, which win over the default; bad URLs are usage errors', () => {
  assert.deepEqual(clientSettings({}, {}), { url: DEFAULT_SERVER_URL, key: undefined });
  assert.deepEqual(clientSettings({}, { CCO_URL: 'https://cco.example.com/', CCO_API_KEY: 'cco_env' }), { url: 'https://cco.example.com', key: 'cco_env' });
  assert.deepEqual(clientSettings({ server: 'http://10.0.0.5:3000', key: 'cco_flag' }, { CCO_URL: 'https://cco.example.com', CCO_API_KEY: 'cco_env' }), { url: 'http://10.0.0.5:3000', key: 'cco_flag' });
  assert.deepEqual(clientSettings({}, { CCO_URL: '', CCO_API_KEY: '' }), { url: DEFAULT_SERVER_URL, key: undefined }, 'empty variables count as unset');
  assert.throws(() => clientSettings({ server: 'not a url' }, {}), ClientError);
  assert.throws(() => clientSettings({ server: 'ftp://x' }, {}), ClientError);
});

test('an unreachable server is a ClientError that names the URL, never the key', async () => {
  const client = new ApiClient({ url: 'http://127.0.0.1:1', key: 'cco_secret_value_123' });
  await assert.rejects(client.request('GET', '/api/health'), (e: unknown) => {
    assert.ok(e instanceof ClientError);
    assert.match(e.message, /cannot reach the server at http:\/\/127\.0\.0\.1:1/);
    assert.ok(!e.message.includes('cco_secret_value_123'));
    return true;
  });
});

test('exit codes: 0 completed, 2 timed out or a limit, 1 any other end', () => {
  assert.equal(exitCodeOf({ status: 'completed', subtype: 'success' }), 0);
  assert.equal(exitCodeOf({ status: 'timed_out', subtype: null }), 2);
  assert.equal(exitCodeOf({ status: 'error', subtype: 'error_max_turns' }), 2);
  assert.equal(exitCodeOf({ status: 'completed', subtype: 'error_max_budget_usd' }), 2);
  for (const status of ['error', 'interrupted', 'cancelled'] as const) assert.equal(exitCodeOf({ status, subtype: null }), 1);
});

test('describeTool: the tool and what it acts on, in one short line', () => {
  assert.equal(describeTool('Bash', { command: 'npm test\n  -- --watch=false', description: 'Run tests' }), 'Bash(npm test -- --watch=false)');
  assert.equal(describeTool('Edit', { file_path: '/w/a.ts', old_string: 'x' }), 'Edit(/w/a.ts)');
  assert.equal(describeTool('TodoWrite', { todos: [] }), 'TodoWrite');
  assert.equal(describeTool('Bash', { command: 'x'.repeat(300) }).length, 'Bash()'.length + 100);
});
