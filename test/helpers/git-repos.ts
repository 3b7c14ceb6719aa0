/**
 * Real git repositories for workspace tests: a bare "origin" reached over
 * file:// stands in for GitHub. Everything lives in one temp folder per test file.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WorkspacesConfig } from '../../src/config.ts';

export const GIT_IDENTITY = {
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: { ...process.env, ...GIT_IDENTITY, GIT_TERMINAL_PROMPT: '0' }, encoding: 'utf8' }).trim();
}

export function tempRoot(prefix = 'cco-ws-'): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
}

export interface Origin {
  /** The bare repository. */
  bare: string;
  url: string;
  /** A working clone used to make the commits. */
  work: string;
  firstCommit: string;
  mainCommit: string;
  featureCommit: string;
}

/** main: README + src/app.txt (2 commits); feature: adds feature.txt; tag v1 on the first commit. */
export function makeOrigin(root: string, name = 'origin'): Origin {
  const work = path.join(root, `${name}-work`);
  const bare = path.join(root, `${name}.git`);
  fs.mkdirSync(work, { recursive: true });
  git(work, 'init', '--quiet', '--initial-branch=main');
  fs.writeFileSync(path.join(work, 'README.md'), '# demo\n');
  git(work, 'add', '.');
  git(work, 'commit', '--quiet', '-m', 'first');
  const firstCommit = git(work, 'rev-parse', 'HEAD');
  git(work, 'tag', 'v1');
  fs.mkdirSync(path.join(work, 'src'));
  fs.writeFileSync(path.join(work, 'src', 'app.txt'), 'one\ntwo\nthree\n');
  git(work, 'add', '.');
  git(work, 'commit', '--quiet', '-m', 'second');
  const mainCommit = git(work, 'rev-parse', 'HEAD');
  git(work, 'checkout', '--quiet', '-b', 'feature');
  fs.writeFileSync(path.join(work, 'feature.txt'), 'feature\n');
  git(work, 'add', '.');
  git(work, 'commit', '--quiet', '-m', 'feature');
  const featureCommit = git(work, 'rev-parse', 'HEAD');
  git(work, 'checkout', '--quiet', 'main');
  execFileSync('git', ['clone', '--quiet', '--bare', work, bare]);
  git(bare, 'config', 'uploadpack.allowAnySHA1InWant', 'true');
  return { bare, url: `file://${bare}`, work, firstCommit, mainCommit, featureCommit };
}

export function testWorkspacesConfig(root: string, over: Partial<WorkspacesConfig> = {}): WorkspacesConfig {
  return {
    dir: path.join(root, 'workspaces'),
    allowedRoots: [root],
    protectedDirs: [],
    cleanup: 'keep',
    // The local git HTTP servers of the tests listen on 127.0.0.1 (ALLOW_PRIVATE_GIT_HOSTS=127.0.0.1).
    git: { cloneDepth: 1, cloneTimeoutMs: 60_000, cloneMaxBytes: 512 * 1024 * 1024, timeoutMs: 30_000, credentials: [], allowPrivateHosts: ['127.0.0.1'] },
    diffMaxBytes: 1024 * 1024,
    maxConcurrentGitOps: 4,
    e2b: {
      apiKey: undefined,
      template: 'base',
      domain: undefined,
      apiUrl: undefined,
      sandboxUrl: undefined,
      claudeCommand: 'claude',
      workdir: '/home/user/workspace',
      timeoutMs: 600_000,
    },
    ...over,
  };
}

/** Every file below `dir` (relative, sorted), skipping nothing: used to prove a base repo was not touched. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}
