/**
 * Input checks for everything a client may send that reaches git or the file
 * system. They are deliberately stricter than git: anything git could read as
 * an option, a transport helper or a path outside the allowed roots is refused
 * before git ever sees it. Messages never repeat the offending URL (it may hold
 * a secret).
 */
import { badRequest } from '../lib/errors.ts';

const CONTROL = { test: (s: string) => [...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f) };
const MAX_URL = 2048;
const MAX_REF = 255;

export type RepoUrl =
  | { kind: 'remote'; url: string; scheme: 'https' | 'http' | 'ssh' | 'git' | 'scp' }
  | { kind: 'file'; url: string; path: string };

/**
 * Accepts https, http, ssh, git, scp-like (`git@host:org/repo.git`) and file://
 * URLs. Refuses option-like text, transport helpers (`ext::`, `fd::`), control
 * characters and whitespace, passwords in the URL (credentials come from config),
 * and hosts or users that ssh would read as options.
 */
export function parseRepoUrl(input: unknown, field = 'repo_url'): RepoUrl {
  if (typeof input !== 'string' || input.length === 0) throw badRequest('invalid_repo_url', `${field} is required`);
  const bad = (why: string) => badRequest('invalid_repo_url', `${field} is not an accepted git URL: ${why}`);
  if (input.length > MAX_URL) throw bad(`longer than ${MAX_URL} characters`);
  if (CONTROL.test(input) || /\s/.test(input)) throw bad('contains whitespace or control characters');
  if (input.startsWith('-')) throw bad('starts with "-" (git would read it as an option)');
  if (input.includes('::')) throw bad('transport helpers such as ext:: are not allowed');
  if (/\\/.test(input)) throw bad('contains a backslash');

  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(input)?.[1]?.toLowerCase();
  if (scheme === undefined) return parseScpLike(input, bad);
  if (!['https', 'http', 'ssh', 'git', 'file'].includes(scheme)) throw bad(`scheme ${scheme.slice(0, 20)} is not allowed`);

  // The URL parser would silently resolve dot segments; refuse them in the text as sent (also %2e-encoded).
  const rawPath = input.slice(scheme.length + 3);
  if (rawPath.split('/').some((seg) => /^(\.|%2e){1,2}$/i.test(seg))) throw bad('path contains "." or ".." segments');
  let u: URL;
  try {
    u = new URL(input);
  } catch {
    throw bad('cannot be parsed');
  }
  if (u.password) throw bad('contains a password; configure GIT_CREDENTIALS instead');
  if (scheme !== 'ssh' && u.username) throw bad('contains a user name; configure GIT_CREDENTIALS instead');
  if (u.username.startsWith('-') || decodeURIComponent(u.username).startsWith('-')) throw bad('user name starts with "-"');
  if (u.search || u.hash) throw bad('query strings and fragments are not allowed');
  if (scheme === 'file') {
    if (u.host !== '') throw bad('file:// URLs must not name a host');
    const path = decodeURIComponent(u.pathname);
    if (CONTROL.test(path)) throw bad('contains control characters');
    return { kind: 'file', url: input, path };
  }
  const host = u.hostname;
  if (!host || host.startsWith('-') || !/^[a-zA-Z0-9.[\]:-]+$/.test(host)) throw bad('host is missing or not a plain host name');
  if (u.pathname === '/' || u.pathname === '') throw bad('has no repository path');
  if (decodeURIComponent(u.pathname).split('/').some((s) => s === '..')) throw bad('path contains ".."');
  return { kind: 'remote', url: input, scheme: scheme as 'https' | 'http' | 'ssh' | 'git' };
}

function parseScpLike(input: string, bad: (why: string) => Error): RepoUrl {
  // user@host:path, as git reads it: no slash before the first colon.
  const m = /^(?:([a-zA-Z0-9._-]+)@)?([a-zA-Z0-9.-]+):([a-zA-Z0-9._~/-]+)$/.exec(input);
  if (!m || input.indexOf('/') !== -1 && input.indexOf('/') < input.indexOf(':')) {
    throw bad('only https://, http://, ssh://, git://, file:// or user@host:path are accepted');
  }
  const [, user, host, path] = m as unknown as [string, string | undefined, string, string];
  if (user?.startsWith('-') || host.startsWith('-')) throw bad('user or host starts with "-"');
  if (path.startsWith('-')) throw bad('path starts with "-"');
  if (path.split('/').some((s) => s === '..')) throw bad('path contains ".."');
  return { kind: 'remote', url: input, scheme: 'scp' };
}

/**
 * A branch, tag or full commit id, checked with git's own ref-name rules
 * (git-check-ref-format) plus: no leading "-", and not "HEAD"-relative syntax.
 */
export function validateRef(input: unknown, field = 'ref'): string {
  if (typeof input !== 'string' || input.length === 0) throw badRequest('invalid_ref', `${field} must be a non-empty string`);
  const bad = (why: string) => badRequest('invalid_ref', `${field} is not an accepted ref name: ${why}`);
  if (input.length > MAX_REF) throw bad(`longer than ${MAX_REF} characters`);
  if (input.startsWith('-')) throw bad('starts with "-"');
  if (CONTROL.test(input) || /[\s~^:?*[\\]/.test(input)) throw bad('contains a space, a control character or one of ~^:?*[\\');
  if (input.includes('..')) throw bad('contains ".."');
  if (input.includes('@{') || input === '@') throw bad('contains "@{"');
  if (input.startsWith('/') || input.endsWith('/') || input.includes('//')) throw bad('empty path component');
  if (input.endsWith('.')) throw bad('ends with "."');
  for (const part of input.split('/')) {
    if (part.startsWith('.')) throw bad('a component starts with "."');
    if (part.endsWith('.lock')) throw bad('a component ends with ".lock"');
  }
  return input;
}

/** True for a full SHA-1 or SHA-256 commit id (these are fetched by id, not cloned by name). */
export function isCommitId(ref: string): boolean {
  return /^[0-9a-f]{40}$|^[0-9a-f]{64}$/.test(ref);
}

/**
 * A client-supplied local path: absolute, no ".." segment, no control
 * characters. Containment in the allowed roots is checked on the real path
 * afterwards (see resolveInside in paths.ts).
 */
export function validateLocalPath(input: unknown, field = 'project_path'): string {
  if (typeof input !== 'string' || input.length === 0) throw badRequest('invalid_path', `${field} is required`);
  const bad = (why: string) => badRequest('invalid_path', `${field} is not accepted: ${why}`);
  if (input.length > 1024) throw bad('longer than 1024 characters');
  if (CONTROL.test(input)) throw bad('contains control characters');
  if (!input.startsWith('/')) throw bad('must be an absolute path');
  if (input.split('/').some((s) => s === '..')) throw bad('contains ".."');
  return input;
}
