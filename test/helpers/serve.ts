/** Runs `cco serve` as a child process (for crash and restart tests). */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startModelServer } from '../../src/model-server/server.ts';
import { claudeTestEnv } from './claude.ts';
import { createPgDatabase, TEST_BACKEND } from './db.ts';

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  output(): string;
}

export async function startServeProcess(env: Record<string, string | undefined>, timeoutMs = 60_000): Promise<ServeProcess> {
  const child = spawn(process.execPath, [path.resolve('bin/cco.mjs'), 'serve'], {
    // Keys are the subject of their own tests; these start and stop servers on loopback.
    // Limits off: crash and restart tests poll faster than RATE_LIMIT_PER_MIN allows.
    env: { ...process.env, LOG_LEVEL: 'info', PORT: '0', AUTH: 'off', RATE_LIMIT_PER_MIN: '0', RATE_LIMIT_HOOKS_PER_MIN: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), timeoutMs);
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
  return { child, url, output: () => out };
}

/**
 * Pids of live processes whose environment holds NAME=value. `notComm` leaves out processes by
 * name: an isolated turn (ISOLATION=bwrap) adds two bwrap processes, which a test counting
 * "Claude Code and its tools" must not take for a tool.
 */
export function pidsWithEnv(name: string, value: string, opts: { notComm?: string } = {}): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = fs.readFileSync(`/proc/${entry}/environ`, 'utf8');
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.split(' ')[2] === 'Z') continue; // a zombie is dead, only not yet reaped
      if (opts.notComm && fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === opts.notComm) continue;
      if (env.split('\0').includes(`${name}=${value}`)) out.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out;
}

/** A model server, a data folder, a fresh database and the env a `cco serve` needs for them. */
export async function serverFixture(prefix: string, extra: Record<string, string> = {}) {
  const model = await startModelServer({ port: 0 });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const pg = TEST_BACKEND === 'postgres' ? await createPgDatabase() : undefined;
  const env: Record<string, string> = {
    ...(claudeTestEnv({ baseUrl: model.url, configDir: path.join(dataDir, 'claude') }) as Record<string, string>),
    DATA_DIR: dataDir,
    WORKSPACES_DIR: path.join(dataDir, 'ws'),
    DATABASE_URL: pg?.url ?? '',
    AUTH: 'off',
    ...extra,
  };
  return {
    model,
    env,
    async cleanup() {
      await model.close();
      await pg?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
