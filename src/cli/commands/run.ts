/**
 * `cco run "<prompt>"` and `cco tail <session>`: a turn from a terminal or a CI job, on a running
 * server (HTTP only). run starts a session, shows its progress and prints the answer; tail follows
 * any session's current turn to its end. Exit codes: 0 completed, 1 failed (error, interrupted,
 * cancelled), 2 timed out or hit a limit (max turns, budget), 3 usage or connection errors.
 */
import path from 'node:path';
import { Command, InvalidArgumentError, type CommanderError } from 'commander';
import { ApiClient, ClientError, clientSettings, EXIT } from '../client.ts';
import { followTurn, printResult, type WaitedTurn } from '../follow.ts';

const CLIENT_HELP = `
Server and key: --server / --key, else CCO_URL (default http://127.0.0.1:3000) and CCO_API_KEY.
Exit codes: 0 the turn completed; 1 it failed (error, interrupted, cancelled); 2 it timed out or hit
a limit (max turns, budget); 3 usage or connection errors.`;

interface ClientFlags {
  server?: string;
  key?: string;
  json?: boolean;
}

const positiveInt = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a whole number of at least 1');
  return n;
};

/** Usage errors exit 3, like connection errors, so a CI job tells them from a failed turn. */
function usageExits(cmd: Command): Command {
  return cmd.exitOverride((e: CommanderError) => process.exit(e.exitCode === 0 ? 0 : EXIT.usage));
}

/** Runs a client command: ClientError (usage, connection, refused request) is printed and exits 3. */
async function guarded(fn: () => Promise<number>): Promise<void> {
  let code: number;
  try {
    code = await fn();
  } catch (e: unknown) {
    if (!(e instanceof ClientError)) throw e;
    process.stderr.write(`cco: ${e.message}\n`);
    code = EXIT.usage;
  }
  process.exitCode = code;
}

export function runCommand(): Command {
  return usageExits(
    new Command('run')
      .description('Run Claude Code on a prompt on a running server: shows tool calls as they happen, prints the answer.')
      .argument('<prompt>', 'what Claude Code should do')
      .option('--repo <url>', 'clone this git repository for the session (project_type github)')
      .option('--ref <ref>', 'with --repo: the branch, tag or commit to start from')
      .option('--path <dir>', 'run in this folder on the server (inside its ALLOWED_ROOTS)')
      .option('--model <model>', 'the model to use')
      .option('--allow <rule>', 'a permission rule allowed without asking, e.g. "Bash(npm test*)" (repeatable)', (v: string, all: string[] = []) => [...all, v])
      .option('--max-turns <n>', 'model round trips allowed (a limit exits 2)', positiveInt)
      .option('--timeout <seconds>', 'time limit of the turn (exits 2 when hit)', positiveInt)
      .option('--keep-open', 'leave the session open after the turn (default: closed, workspace cleaned up by its policy)')
      .option('--server <url>', 'the server (default CCO_URL, else http://127.0.0.1:3000)')
      .option('--key <key>', 'API key (default CCO_API_KEY)')
      .option('--json', 'print one JSON object at the end (session_id, turn_id, status, answer, cost_usd, ...), nothing else')
      .addHelpText('after', CLIENT_HELP)
      .action((prompt: string, o: ClientFlags & { repo?: string; ref?: string; path?: string; model?: string; allow?: string[]; maxTurns?: number; timeout?: number; keepOpen?: boolean }) =>
        guarded(async () => {
          if (o.repo && o.path) throw new ClientError('give --repo or --path, not both');
          if (o.ref && !o.repo) throw new ClientError('--ref needs --repo');
          const client = new ApiClient(clientSettings(o, process.env));
          // The position before the session exists: following from it misses none of its events.
          const since = o.json ? undefined : await client.position().catch(() => undefined);
          const body = {
            prompt,
            source: 'cli',
            project_type: o.repo ? 'github' : 'local',
            ...(o.repo ? { repo_url: o.repo, ref: o.ref } : {}),
            ...(o.path ? { project_path: path.resolve(o.path) } : {}),
            ...(o.model ? { model: o.model } : {}),
            ...(o.allow?.length ? { allowed_tools: o.allow } : {}),
            ...(o.maxTurns ? { max_turns: o.maxTurns } : {}),
            ...(o.timeout ? { timeout_s: o.timeout } : {}),
            close_after: !o.keepOpen,
          };
          const created = await client.request<{ id: string; turn?: { id: number } }>('POST', '/api/sessions', body);
          const sessionId = created.body.id;
          if (!created.body.turn) throw new ClientError('the server started no turn for the prompt');
          if (!o.json) process.stderr.write(`session ${sessionId}\n`);
          const turn = await followTurn(client, sessionId, created.body.turn.id, { json: Boolean(o.json), since });
          return printResult(turn, sessionId, { json: Boolean(o.json) });
        }),
      ),
  );
}

export function tailCommand(): Command {
  return usageExits(
    new Command('tail')
      .description("Follow a session's current turn (tool calls, notices) until it ends; print its answer.")
      .argument('<session>', 'the session id')
      .option('--server <url>', 'the server (default CCO_URL, else http://127.0.0.1:3000)')
      .option('--key <key>', 'API key (default CCO_API_KEY)')
      .option('--json', 'print one JSON object at the end, nothing else')
      .addHelpText('after', CLIENT_HELP)
      .action((sessionId: string, o: ClientFlags) =>
        guarded(async () => {
          if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(sessionId)) throw new ClientError(`not a session id: ${sessionId}`);
          const client = new ApiClient(clientSettings(o, process.env));
          const turnId = await currentTurn(client, sessionId);
          if (turnId === undefined) {
            if (!o.json) process.stderr.write(`session ${sessionId} has no turns run by the orchestrator\n`);
            else process.stdout.write(`${JSON.stringify({ session_id: sessionId, turn_id: null, status: null, answer: null, exit_code: 0 })}\n`);
            return EXIT.completed;
          }
          const turn: WaitedTurn = await followTurn(client, sessionId, turnId, { json: Boolean(o.json) });
          return printResult(turn, sessionId, { json: Boolean(o.json) });
        }),
      ),
  );
}

/** The turn running now, else the oldest queued one, else the last one. */
async function currentTurn(client: ApiClient, sessionId: string): Promise<number | undefined> {
  const turns: Array<{ id: number; status: string }> = [];
  let cursor: string | null = null;
  do {
    const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
    const page = await client.request<{ data: Array<{ id: number; status: string }>; next_cursor: string | null }>('GET', `/api/sessions/${sessionId}/turns?limit=200${q}`);
    turns.push(...page.body.data);
    cursor = page.body.next_cursor;
  } while (cursor);
  return (turns.find((t) => t.status === 'running') ?? turns.find((t) => t.status === 'queued') ?? turns.at(-1))?.id;
}
