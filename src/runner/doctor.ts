/**
 * `cco doctor`: checks the installed Claude Code the way the server uses it: its
 * version, one real turn through the runner (against a model server given by URL,
 * or the configured provider), that the tool call was captured, and that a second
 * turn resumes the same Claude session. Findings are plain sentences.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { SYSTEM } from '../auth/principal.ts';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { workspacesConfigFor, type RunnerConfig } from '../config.ts';
import { openDatabase } from '../db/database.ts';
import { migrate } from '../db/migrate.ts';
import { createLogger } from '../logger.ts';
import { createCore } from '../main.ts';
import { resolveIsolation } from './isolation.ts';

export interface Finding {
  ok: boolean;
  check: string;
  detail: string;
}

const run = promisify(execFile);

export function defaultClaudePath(): string {
  return createRequire(import.meta.url).resolve(`@anthropic-ai/claude-agent-sdk-${process.platform}-${process.arch}/claude`);
}

export async function runDoctor(opts: { runner: RunnerConfig; modelUrl: string | undefined; scripted: boolean; timeoutS: number }): Promise<Finding[]> {
  const findings: Finding[] = [];
  let binary: string;
  try {
    binary = opts.runner.claudePath ?? defaultClaudePath();
  } catch {
    return [{ ok: false, check: 'binary', detail: 'The Claude Code binary shipped with @anthropic-ai/claude-agent-sdk is missing. Run `npm install`, or set CLAUDE_PATH.' }];
  }
  try {
    const { stdout } = await run(binary, ['--version'], { timeout: 30_000 });
    findings.push({ ok: true, check: 'version', detail: `${stdout.trim()} at ${binary}` });
  } catch (e: unknown) {
    findings.push({ ok: false, check: 'version', detail: `Cannot run ${binary} --version (${(e as Error).message.split('\n')[0]}). Check CLAUDE_PATH.` });
    return findings;
  }

  findings.push(isolationFinding(opts.runner));
  const passEnv: Record<string, string> = { ...opts.runner.passEnv, ...(opts.modelUrl ? { ANTHROPIC_BASE_URL: opts.modelUrl, ANTHROPIC_API_KEY: opts.runner.passEnv.ANTHROPIC_API_KEY ?? 'sk-doctor' } : {}) };
  if (!passEnv.ANTHROPIC_API_KEY && !passEnv.ANTHROPIC_AUTH_TOKEN && !passEnv.CLAUDE_CODE_OAUTH_TOKEN && !opts.runner.envFile) {
    findings.push({ ok: false, check: 'credentials', detail: 'No ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN or CLAUDE_CODE_OAUTH_TOKEN is set (nor CLAUDE_ENV_FILE). Claude Code will answer "Not logged in".' });
    return findings;
  }

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-doctor-'));
  const database = await openDatabase({ url: undefined, dataDir: path.join(tmp, 'data'), poolMax: 2 });
  const logger = createLogger('silent', { pretty: false });
  try {
    await migrate(database.db);
    const core = createCore({
      database,
      logger,
      resultMaxBytes: 50 * 1024,
      runner: { ...opts.runner, passEnv, workspacesDir: tmp, turnTimeoutS: opts.timeoutS, maxConcurrentRuns: 1 },
      workspaces: workspacesConfigFor(tmp),
      alone: true, // its own embedded database
    });
    await core.live.start({ read: false }); // writes its events; nothing here reads them back
    await core.queue.start();
    await core.runner.start();
    try {
      const first = opts.scripted ? 'SCRIPT:bash' : 'Run the shell command `echo cco-doctor` with the Bash tool, then reply with the single word done.';
      const { session } = await core.commands.create(SYSTEM, { prompt: first, project_type: 'local', source: 'cli', metadata: {}, allowed_tools: ['Bash(echo *)'] });
      const s1 = await waitTurns(core.sessions, session.id, 1, opts.timeoutS);
      const turns1 = (await core.sessions.listTurns(session.id, 10)).data;
      const t1 = turns1[0];
      if (!t1 || t1.status !== 'completed') {
        findings.push({ ok: false, check: 'one turn', detail: `The turn ended ${t1?.status ?? 'without a record'}: ${t1?.error ?? 'no details'}. Check the model URL, the key and the network.` });
        return findings;
      }
      findings.push({ ok: true, check: 'one turn', detail: `Completed in ${t1.duration_ms ?? '?'} ms; Claude session ${s1.claude_session_id}.` });
      const logs = (await core.sessions.listLogs(session.id, { limit: 10 })).data;
      findings.push(
        logs.length > 0
          ? { ok: true, check: 'tool capture', detail: `${logs.length} tool call(s) recorded (${logs.map((l) => `${l.tool}: ${l.status}`).join(', ')}).` }
          : { ok: false, check: 'tool capture', detail: 'The turn made no recorded tool call. With a real model this can happen; with the scripted model server it means capture is broken.' },
      );
      await core.commands.postMessage(SYSTEM, session.id, { direction: 'user', content: 'Reply with the word resumed.', source: 'cli', metadata: {} });
      const s2 = await waitTurns(core.sessions, session.id, 2, opts.timeoutS);
      const t2 = (await core.sessions.listTurns(session.id, 10)).data[1];
      const resumed = t2?.status === 'completed' && s2.claude_session_id === s1.claude_session_id;
      findings.push(
        resumed
          ? { ok: true, check: 'resume', detail: 'A second turn resumed the same Claude session.' }
          : { ok: false, check: 'resume', detail: `The second turn ended ${t2?.status ?? 'without a record'} (${t2?.error ?? 'session id changed'}).` },
      );
    } finally {
      await core.runner.stop();
      await core.queue.stop(2000);
      await core.live.stop();
    }
  } finally {
    await database.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return findings;
}

/** ISOLATION as the server would apply it: a host that cannot isolate is a problem, a deliberate off is said plainly. */
function isolationFinding(runner: RunnerConfig): Finding {
  try {
    const s = resolveIsolation(runner.isolation ?? 'auto');
    return { ok: s.mode === 'bwrap' || s.setting === 'off', check: 'isolation', detail: s.detail };
  } catch (e: unknown) {
    return { ok: false, check: 'isolation', detail: (e as Error).message };
  }
}

async function waitTurns(sessions: ReturnType<typeof createCore>['sessions'], id: string, turns: number, timeoutS: number) {
  const deadline = Date.now() + timeoutS * 1000 + 10_000;
  while (Date.now() < deadline) {
    const s = await sessions.get(id);
    if (s.totals.turns >= turns && s.turn_state === 'idle') return s;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no answer within ${timeoutS} s`);
}
