/**
 * A private git server for credential tests: `git http-backend` (smart HTTP)
 * behind a node HTTP server that demands Basic auth. It records every
 * Authorization header it sees, so a test can prove the credential was sent.
 * With `hold`, each clone's first request (ref discovery) waits until `hold`
 * resolves: a test can keep clones in flight as long as it wants and count them.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';

export interface GitHttpServer {
  url: string;
  /** Authorization headers received, in order ('' when none was sent). */
  auth: string[];
  /** Ref discovery requests waiting on `hold` now, and the most ever waiting at once. */
  held: { now: number; most: number };
  close(): Promise<void>;
}

const BACKEND = '/usr/lib/git-core/git-http-backend';

export async function startGitHttpServer(projectRoot: string, user: string, password: string, opts: { hold?: () => Promise<void> } = {}): Promise<GitHttpServer> {
  const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const auth: string[] = [];
  const held = { now: 0, most: 0 };
  const server = http.createServer(async (req, res) => {
    auth.push(req.headers.authorization ?? '');
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="private"' });
      res.end('unauthorized');
      return;
    }
    const u = new URL(req.url ?? '/', 'http://x');
    if (opts.hold && u.pathname.endsWith('/info/refs')) {
      held.now += 1;
      held.most = Math.max(held.most, held.now);
      await opts.hold();
      held.now -= 1;
    }
    const cgi = spawn(BACKEND, [], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        GIT_PROJECT_ROOT: projectRoot,
        GIT_HTTP_EXPORT_ALL: '1',
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: decodeURIComponent(u.pathname),
        QUERY_STRING: u.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_USER: user,
        REMOTE_ADDR: '127.0.0.1',
        HTTP_GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: String(req.headers['content-encoding']) } : {}),
      },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    req.pipe(cgi.stdin);
    // CGI output: headers, a blank line, then the body.
    let head = Buffer.alloc(0);
    let headerDone = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headerDone) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      headerDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString().split('\r\n')) {
        const i = line.indexOf(':');
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === 'status') status = Number(v.split(' ')[0]);
        else headers[k] = v;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
    });
    cgi.on('close', () => res.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    auth,
    held,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
