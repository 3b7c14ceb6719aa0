/**
 * A local stand-in for E2B, enough for the real `e2b` SDK: the control plane
 * (create, connect, kill a sandbox) and envd (Connect-protocol process RPCs in
 * JSON, and the /files upload and download endpoints). A "sandbox" here runs
 * its commands as local processes, so Claude Code started through it is the
 * real binary. It checks the API key and the per-sandbox envd access token, and
 * records every call so tests can state what was exercised.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

interface StandInSandbox {
  id: string;
  template: string;
  token: string;
  alive: boolean;
  metadata: Record<string, string>;
  /** The lifetime last asked for (seconds), at creation or by a timeout extension. */
  timeoutSeconds: number | undefined;
  procs: Map<number, ChildProcess>;
}

export interface E2bStandIn {
  url: string;
  apiKey: string;
  calls: string[];
  sandboxes: Map<string, StandInSandbox>;
  close(): Promise<void>;
}

const envelope = (flags: number, obj: unknown) => {
  const json = Buffer.from(JSON.stringify(obj));
  const head = Buffer.alloc(5);
  head.writeUInt8(flags, 0);
  head.writeUInt32BE(json.length, 1);
  return Buffer.concat([head, json]);
};

async function body(req: http.IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

export async function startE2bStandIn(apiKey = 'e2b_standin_key'): Promise<E2bStandIn> {
  const sandboxes = new Map<string, StandInSandbox>();
  const calls: string[] = [];
  let n = 0;

  const json = (res: http.ServerResponse, status: number, obj?: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(obj === undefined ? undefined : JSON.stringify(obj));
  };
  const describe = (s: StandInSandbox) => ({
    sandboxID: s.id, templateID: s.template, clientID: 'standin', envdVersion: '0.6.0', envdAccessToken: s.token, domain: null,
  });

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((e: unknown) => json(res, 500, { code: 500, message: String(e) }));
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const u = new URL(req.url ?? '/', 'http://x');
    calls.push(`${req.method} ${u.pathname}`);
    // Control plane.
    if (u.pathname === '/v2/sandboxes' && req.method === 'POST') {
      if (req.headers['x-api-key'] !== apiKey) return json(res, 401, { code: 401, message: 'invalid API key' });
      const b = JSON.parse((await body(req)).toString()) as { templateID: string; metadata?: Record<string, string>; timeout?: number };
      n += 1;
      const s: StandInSandbox = {
        id: `sbx${n}standin`, template: b.templateID, token: `envd-token-${n}`, alive: true, metadata: b.metadata ?? {}, timeoutSeconds: b.timeout, procs: new Map(),
      };
      sandboxes.set(s.id, s);
      return json(res, 201, describe(s));
    }
    const connect = /^\/v2\/sandboxes\/([^/]+)\/connect$/.exec(u.pathname);
    if (connect && req.method === 'POST') {
      const s = sandboxes.get(connect[1]!);
      if (!s?.alive) return json(res, 404, { code: 404, message: 'sandbox not found' });
      return json(res, 200, describe(s));
    }
    const timeout = /^\/sandboxes\/([^/]+)\/timeout$/.exec(u.pathname);
    if (timeout && req.method === 'POST') {
      const s = sandboxes.get(timeout[1]!);
      if (!s?.alive) return json(res, 404, { code: 404, message: 'sandbox not found' });
      s.timeoutSeconds = (JSON.parse((await body(req)).toString()) as { timeout: number }).timeout;
      res.writeHead(204).end();
      return;
    }
    const kill = /^\/sandboxes\/([^/]+)$/.exec(u.pathname);
    if (kill && req.method === 'DELETE') {
      const s = sandboxes.get(kill[1]!);
      if (!s?.alive) return json(res, 404, { code: 404, message: 'sandbox not found' });
      s.alive = false;
      for (const p of s.procs.values()) p.kill('SIGKILL');
      res.writeHead(204).end();
      return;
    }
    // envd: the sandbox is named by a header and guarded by its access token.
    const s = sandboxes.get(String(req.headers['e2b-sandbox-id'] ?? ''));
    if (!s?.alive) return json(res, 502, { code: 502, message: 'sandbox not running' });
    if (u.pathname === '/health') return void res.writeHead(204).end();
    if (req.headers['x-access-token'] !== s.token) return json(res, 401, { code: 401, message: 'bad access token' });

    if (u.pathname === '/files') {
      const p = u.searchParams.get('path') ?? '';
      if (req.method === 'POST') {
        fs.mkdirSync(path.dirname(p), { recursive: true });
        fs.writeFileSync(p, await body(req));
        return json(res, 200, [{ name: path.basename(p), type: 'file', path: p }]);
      }
      if (!fs.existsSync(p)) return json(res, 404, { code: 404, message: 'no such file' });
      const data = fs.readFileSync(p);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.length });
      return void res.end(data);
    }
    if (u.pathname === '/process.Process/Start') return startProcess(s, req, res);
    const unary = /^\/process\.Process\/(SendInput|CloseStdin|SendSignal)$/.exec(u.pathname);
    if (unary) {
      const b = JSON.parse((await body(req)).toString()) as { process: { pid: number }; input?: { stdin?: string } };
      const p = s.procs.get(b.process.pid);
      if (!p) return json(res, 404, { code: 'not_found', message: 'process not found' });
      if (unary[1] === 'SendInput') p.stdin?.write(Buffer.from(b.input?.stdin ?? '', 'base64'));
      else if (unary[1] === 'CloseStdin') p.stdin?.end();
      else p.kill('SIGKILL');
      return json(res, 200, {});
    }
    return json(res, 404, { code: 404, message: `no route ${u.pathname}` });
  }

  async function startProcess(s: StandInSandbox, req: http.IncomingMessage, res: http.ServerResponse) {
    const raw = await body(req);
    const msg = JSON.parse(raw.subarray(5).toString()) as { process: { cmd: string; args?: string[]; envs?: Record<string, string>; cwd?: string }; stdin?: boolean };
    const { cmd, envs = {}, cwd } = msg.process;
    // The SDK sends `/bin/bash -l -c <line>`; a login shell costs ~0.5 s here, so the stand-in drops -l.
    const args = (msg.process.args ?? []).filter((a, i) => !(i === 0 && a === '-l'));
    const child = spawn(cmd, args, {
      cwd: cwd && fs.existsSync(cwd) ? cwd : undefined,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...envs },
      stdio: [msg.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    const pid = child.pid ?? -1;
    s.procs.set(pid, child);
    res.writeHead(200, { 'content-type': 'application/connect+json' });
    res.write(envelope(0, { event: { start: { pid } } }));
    child.stdout?.on('data', (d: Buffer) => res.write(envelope(0, { event: { data: { stdout: d.toString('base64') } } })));
    child.stderr?.on('data', (d: Buffer) => res.write(envelope(0, { event: { data: { stderr: d.toString('base64') } } })));
    child.stdin?.on('error', () => {});
    child.on('close', (code, signal) => {
      s.procs.delete(pid);
      const exitCode = code ?? (signal ? -1 : 0);
      res.write(envelope(0, { event: { end: { exitCode, exited: code !== null, status: signal ? `signal: ${signal}` : `exit status ${exitCode}` } } }));
      res.end(envelope(2, {}));
    });
    req.on('close', () => {
      // The client went away (sandbox object dropped): a real envd keeps running; so do we.
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    calls,
    sandboxes,
    async close() {
      for (const s of sandboxes.values()) for (const p of s.procs.values()) p.kill('SIGKILL');
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
