import assert from 'node:assert/strict';
import { test } from 'node:test';
import { callHash, decide, evaluate, governing, type CallContext, type Policy } from './policy.ts';

const ctx: CallContext = { cwd: '/srv/ws/s1', workspace: ['github', '/srv/ws/s1', 'https://github.com/acme/app.git'] };
const bash = (command: string) => ({ tool_name: 'Bash', tool_input: { command, description: 'x' } });
const file = (tool: string, p: string) => ({ tool_name: tool, tool_input: { file_path: p } });

test('first matching rule wins; else the default', () => {
  const p: Policy = { default: 'allow', rules: [{ tool: 'Bash', command: 'git push*', action: 'ask' }, { tool: 'Bash', command: 'git *', action: 'allow' }, { tool: 'Bash', action: 'deny' }] };
  assert.equal(evaluate(p, bash('git push origin main'), ctx).action, 'ask');
  assert.equal(evaluate(p, bash('git status'), ctx).action, 'allow');
  assert.equal(evaluate(p, bash('rm -rf /'), ctx).action, 'deny');
  assert.equal(evaluate(p, file('Read', 'a.txt'), ctx).action, 'allow');
  assert.equal(evaluate(p, file('Read', 'a.txt'), ctx).explicit, false, 'an allow default defers to the permission mode');
});

test('path globs: relative to the workspace or absolute; * stays in a folder, ** crosses', () => {
  const p: Policy = { default: 'allow', rules: [{ tool: '*', path: '**/.env*', action: 'deny' }, { tool: 'Write', path: 'src/*.ts', action: 'ask' }, { tool: 'Edit', path: '/etc/**', action: 'deny' }] };
  assert.equal(evaluate(p, file('Read', '/srv/ws/s1/.env'), ctx).action, 'deny');
  assert.equal(evaluate(p, file('Read', 'config/.env.local'), ctx).action, 'deny');
  assert.equal(evaluate(p, file('Write', 'src/a.ts'), ctx).action, 'ask');
  assert.equal(evaluate(p, file('Write', 'src/deep/a.ts'), ctx).action, 'allow', '* does not cross folders');
  assert.equal(evaluate(p, file('Edit', '/etc/passwd'), ctx).action, 'deny');
  assert.equal(evaluate(p, bash('cat .env'), ctx).action, 'allow', 'a path rule matches file tools only');
});

test('tool globs and workspace globs', () => {
  const p: Policy = { default: 'deny', rules: [{ tool: 'mcp__github__*', action: 'ask' }, { tool: 'Bash', workspace: 'https://github.com/acme/*', action: 'allow' }] };
  assert.equal(evaluate(p, { tool_name: 'mcp__github__create_pr', tool_input: {} }, ctx).action, 'ask');
  assert.equal(evaluate(p, bash('ls'), ctx).action, 'allow');
  assert.equal(evaluate(p, bash('ls'), { ...ctx, workspace: ['local', '/home/me/p'] }).action, 'deny');
});

test("a non-admin's policy only narrows the server's; an admin's replaces it", () => {
  const server: Policy = { default: 'allow', rules: [{ tool: 'Bash', action: 'ask' }] };
  const wide: Policy = { default: 'allow', rules: [{ tool: 'Bash', action: 'allow' }] };
  const strict: Policy = { default: 'allow', rules: [{ tool: 'Read', action: 'deny' }] };
  assert.equal(decide({ server, session: { policy: wide, mode: 'narrow' } }, bash('ls'), ctx).action, 'ask');
  assert.equal(decide({ server, session: { policy: wide, mode: 'replace' } }, bash('ls'), ctx).action, 'allow');
  assert.equal(decide({ server, session: { policy: strict, mode: 'narrow' } }, file('Read', 'a'), ctx).action, 'deny');
  assert.equal(governing({ server: { ...server, timeout_action: 'allow' }, session: { policy: { ...wide, timeout_action: 'allow' }, mode: 'narrow' } }).timeout_action, 'allow', 'the server chose it');
  assert.equal(governing({ server, session: { policy: { ...wide, timeout_action: 'deny', approvers: ['x'] }, mode: 'narrow' } }).approvers?.[0], 'x');
});

test('the same call: tool and input, whatever the Bash description or key order', () => {
  assert.equal(callHash(bash('ls')), callHash({ tool_name: 'Bash', tool_input: { description: 'other', command: 'ls' } }));
  assert.notEqual(callHash(bash('ls')), callHash(bash('ls -a')));
  assert.equal(callHash({ tool_name: 'Write', tool_input: { a: 1, b: { c: 2, d: 3 } } }), callHash({ tool_name: 'Write', tool_input: { b: { d: 3, c: 2 }, a: 1 } }));
});
