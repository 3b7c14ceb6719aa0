/**
 * A corpus of hostile paths, URLs and refs, each sent through the real
 * WorkspaceManager: every one must be refused with a 400 AppError, nothing may
 * appear in WORKSPACES_DIR, and no injected command may have run.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../src/logger.ts';
import { AppError } from '../src/lib/errors.ts';
import { WorkspaceManager } from '../src/workspaces/manager.ts';
import { listFiles, testWorkspacesConfig } from './helpers/git-repos.ts';
import { hostilePlaces, hostileWorkspaceCorpus } from './helpers/hostile-corpus.ts';

let places: ReturnType<typeof hostilePlaces>;
let root: string;
let outside: string;
let pwned: string;
let manager: WorkspaceManager;

before(() => {
  places = hostilePlaces();
  ({ root, outside, pwned } = places);
  const config = testWorkspacesConfig(root, { allowedRoots: places.allowedRoots });
  manager = new WorkspaceManager(config, createLogger('silent', { pretty: false }));
});

after(() => places.cleanup());

const sid = '00000000-0000-4000-8000-000000000001';

const corpus = () => hostileWorkspaceCorpus(places);

describe('hostile input is refused', () => {
  test('the corpus has at least 50 entries', () => {
    assert.ok(corpus().length >= 50, `only ${corpus().length}`);
  });

  test('every entry: 400 with a stable code, nothing created, nothing run, no secret echoed', async () => {
    const before = fs.existsSync(path.join(root, 'workspaces')) ? listFiles(path.join(root, 'workspaces')) : [];
    for (const [name, req] of corpus()) {
      await assert.rejects(manager.prepare({ sessionId: sid, ...req }), (e: unknown) => {
        assert.ok(e instanceof AppError, `${name}: not an AppError: ${String(e)}`);
        assert.equal(e.statusCode, 400, `${name}: status ${e.statusCode} (${e.code}: ${e.message})`);
        assert.match(e.code, /^[a-z_]+$/);
        assert.ok(!/^(clone|git)_/.test(e.code), `${name}: reached git (${e.code}) instead of being refused up front`);
        assert.ok(!e.message.includes('s3cret'), `${name}: message repeats the secret`);
        return true;
      }, name);
    }
    const afterList = fs.existsSync(path.join(root, 'workspaces')) ? listFiles(path.join(root, 'workspaces')) : [];
    assert.deepEqual(afterList, before, 'a refused request left files in WORKSPACES_DIR');
    assert.ok(!fs.existsSync(pwned), 'an injected command ran');
    assert.deepEqual(fs.readdirSync(outside).sort(), ['secret-work', 'secret.git']);
  });
});
