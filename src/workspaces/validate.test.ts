import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isCommitId, parseRepoUrl, validateLocalPath, validateRef } from './validate.ts';

describe('accepted input', () => {
  test('git URLs of every supported form', () => {
    for (const [url, kind] of [
      ['https://github.com/acme/api.git', 'remote'],
      ['http://127.0.0.1:8080/acme/api.git', 'remote'],
      ['ssh://git@github.com/acme/api.git', 'remote'],
      ['ssh://git@github.com:2222/acme/api.git', 'remote'],
      ['git://example.org/acme/api', 'remote'],
      ['git@github.com:acme/api.git', 'remote'],
      ['github.com:acme/api.git', 'remote'],
      ['file:///srv/git/api.git', 'file'],
    ] as const) {
      assert.equal(parseRepoUrl(url).kind, kind, url);
    }
  });

  test('ref names git accepts', () => {
    for (const r of ['main', 'feature/x-1', 'v1.2.3', 'release_2024.01', 'a'.repeat(40), 'HEAD']) assert.equal(validateRef(r), r);
  });

  test('commit ids', () => {
    assert.equal(isCommitId('a'.repeat(40)), true);
    assert.equal(isCommitId('abc1234'), false);
    assert.equal(isCommitId('g'.repeat(40)), false);
  });

  test('absolute local paths without dot-dot', () => {
    assert.equal(validateLocalPath('/home/me/src/api'), '/home/me/src/api');
    assert.equal(validateLocalPath('/home/me/src/a..b'), '/home/me/src/a..b');
  });
});
