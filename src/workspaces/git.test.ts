import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { credentialEnv, parseGitCredentials } from './credentials.ts';
import { KeyedQueue, redactSecrets, runGit } from './git.ts';

describe('KeyedQueue', () => {
  test('runs work for one key one at a time, in order, and other keys in parallel', async () => {
    const q = new KeyedQueue();
    const log: string[] = [];
    let inA = 0;
    let maxA = 0;
    const job = (key: string, i: number) => q.run(key, async () => {
      if (key === 'a') maxA = Math.max(maxA, ++inA);
      log.push(`${key}${i}+`);
      await new Promise((r) => setTimeout(r, 5));
      log.push(`${key}${i}-`);
      if (key === 'a') inA -= 1;
      if (i === 2) throw new Error('a failure does not block the queue');
      return i;
    });
    const results = await Promise.allSettled([job('a', 1), job('a', 2), job('a', 3), job('b', 1)]);
    assert.equal(maxA, 1);
    assert.deepEqual(log.filter((l) => l.startsWith('a')), ['a1+', 'a1-', 'a2+', 'a2-', 'a3+', 'a3-']);
    assert.ok(log.indexOf('b1+') < log.indexOf('a1-'), 'b did not wait for a');
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
  });
});

describe('secrets', () => {
  test('redactSecrets removes userinfo and authorization values', () => {
    assert.equal(redactSecrets("fatal: unable to access 'https://user:tok@host/r.git/'"), "fatal: unable to access 'https://***@host/r.git/'");
    assert.equal(redactSecrets('Authorization: Basic dXNlcjp0b2s='), 'Authorization: Basic ***');
  });

  test('credentials apply only under their prefix, with the longest prefix winning', () => {
    const creds = parseGitCredentials('https://a:one@github.com, https://b:two@github.com/acme');
    const h = (url: string) => credentialEnv(creds, url).GIT_CONFIG_VALUE_0;
    assert.equal(h('https://github.com/acme/api.git'), `Authorization: Basic ${Buffer.from('b:two').toString('base64')}`);
    assert.equal(h('https://github.com/other/api.git'), `Authorization: Basic ${Buffer.from('a:one').toString('base64')}`);
    assert.equal(h('https://github.com.evil.example/acme/api.git'), undefined);
    assert.equal(h('http://github.com/acme/api.git'), undefined);
    assert.throws(() => parseGitCredentials('https://github.com'), /no token/);
    assert.throws(() => parseGitCredentials('ssh://a:b@github.com'), /https/);
  });
});

describe('runGit', () => {
  test('a timeout ends git (and what it started) with code git_timeout', async () => {
    // A test-only alias that runs longer than the limit.
    await assert.rejects(runGit(['-c', 'alias.wait=!sleep 5', 'wait'], { timeoutMs: 300 }), { code: 'git_timeout' });
  });

  test('a failure carries a redacted stderr tail', async () => {
    await assert.rejects(runGit(['ls-remote', '--', 'https://user:s3cret@127.0.0.1:1/x.git'], { timeoutMs: 10_000 }), (e: Error & { stderrTail: string }) => {
      assert.ok(!e.message.includes('s3cret') && !e.stderrTail.includes('s3cret'));
      return true;
    });
  });
});
