/**
 * Following one turn from the command line (`cco run`, `cco tail`): its progress from the live event
 * stream (each tool call as it is recorded, system notices, a spinner while the model thinks on a
 * terminal), and its end from GET /api/sessions/:id/turns/:turn?wait=N, which is the authority: the
 * stream only decorates, so a stream that cannot be opened costs the display, never the result.
 */
import type { TurnResult } from '../sessions/turn-waiter.ts';
import { ApiClient, EXIT, type ServerEvent } from './client.ts';

export type WaitedTurn = TurnResult & { wait_url: string | null };

export interface FollowOptions {
  /** --json: nothing but the final object on stdout; no progress, no spinner. */
  json: boolean;
  /** Replay events after this id (run: from before the session existed, so nothing is missed). */
  since?: string | undefined;
  out?: NodeJS.WriteStream;
  err?: NodeJS.WriteStream;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** Follows the turn to its end and returns it. */
export async function followTurn(client: ApiClient, sessionId: string, turnId: number, o: FollowOptions): Promise<WaitedTurn> {
  const err = o.err ?? process.stderr;
  const progress = o.json ? undefined : new Progress(err);
  const stop = new AbortController();
  const stream = progress
    ? client.events({ session_id: sessionId, since: o.since }, (e) => progress.event(e), stop.signal).catch((e: unknown) => progress.note(`(no live progress: ${(e as Error).message})`))
    : Promise.resolve();
  try {
    let turn = (await client.request<WaitedTurn>('GET', `/api/sessions/${sessionId}/turns/${turnId}`)).body;
    while (turn.wait_url) turn = (await client.request<WaitedTurn>('GET', turn.wait_url)).body;
    return turn;
  } finally {
    stop.abort();
    await stream;
    progress?.stop();
  }
}

/** 0 completed; 2 timed out or a limit (max turns, budget); 1 any other end (README "Command line"). */
export function exitCodeOf(turn: Pick<TurnResult, 'status' | 'subtype'>): number {
  // A limit first: Claude Code may report max turns as a result that is not an error.
  if (turn.status === 'timed_out' || (turn.subtype ?? '').startsWith('error_max_')) return EXIT.limit;
  if (turn.status === 'completed') return EXIT.completed;
  return EXIT.failed;
}

/** Prints the end of a turn: the answer on stdout, a summary line on stderr (or one JSON object). */
export function printResult(turn: WaitedTurn, sessionId: string, o: { json: boolean; out?: NodeJS.WriteStream; err?: NodeJS.WriteStream }): number {
  const out = o.out ?? process.stdout;
  const err = o.err ?? process.stderr;
  const code = exitCodeOf(turn);
  if (o.json) {
    const { id, status, answer, cost_usd, duration_ms, input_tokens, output_tokens, num_turns, error, subtype } = turn;
    out.write(`${JSON.stringify({ session_id: sessionId, turn_id: id, status, answer, cost_usd, duration_ms, input_tokens, output_tokens, num_turns, error, subtype, exit_code: code })}\n`);
    return code;
  }
  if (turn.answer) out.write(`${turn.answer}\n`);
  const mark = code === EXIT.completed ? '✓' : '✗';
  const facts = [turn.status, turn.duration_ms !== null ? `${(turn.duration_ms / 1000).toFixed(1)} s` : undefined, turn.cost_usd !== null ? `$${turn.cost_usd.toFixed(4)}` : undefined, `session ${sessionId}`];
  err.write(`${mark} ${facts.filter(Boolean).join(' · ')}\n`);
  if (turn.error) err.write(`  ${turn.error.split('\n')[0]!.slice(0, 500)}\n`);
  return code;
}

/** What a tool call is about, in one short line. */
export function describeTool(tool: string, input: unknown): string {
  const i = (input ?? {}) as Record<string, unknown>;
  const main = ['command', 'file_path', 'path', 'pattern', 'url', 'query', 'description'].map((k) => i[k]).find((v) => typeof v === 'string') as string | undefined;
  const text = (main ?? '').replace(/\s+/g, ' ').trim();
  return text ? `${tool}(${text.length > 100 ? `${text.slice(0, 99)}…` : text})` : tool;
}

class Progress {
  readonly #tty: boolean;
  #timer: NodeJS.Timeout | undefined;
  #frame = 0;
  #since = Date.now();
  #shown = false;

  constructor(private readonly err: NodeJS.WriteStream) {
    this.#tty = Boolean(err.isTTY);
    if (this.#tty) {
      this.#timer = setInterval(() => this.#spin(), 100);
      this.#timer.unref();
    }
  }

  event(e: ServerEvent): void {
    if (e.event === 'log.created') {
      const log = e.data.log as { tool?: string; input?: unknown; status?: string } | undefined;
      if (log?.tool) this.note(`${log.status === 'error' ? '✗' : '⏺'} ${describeTool(log.tool, log.input)}`);
    } else if (e.event === 'message.created') {
      const m = e.data.message as { direction?: string; content?: string } | undefined;
      if (m?.direction === 'system' && m.content) this.note(`! ${m.content.split('\n')[0]!.slice(0, 300)}`);
    }
  }

  note(line: string): void {
    this.#clear();
    this.err.write(`${line}\n`);
    this.#since = Date.now();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#clear();
  }

  #spin(): void {
    this.#frame = (this.#frame + 1) % FRAMES.length;
    this.err.write(`\r${FRAMES[this.#frame]} thinking… ${Math.round((Date.now() - this.#since) / 1000)} s`);
    this.#shown = true;
  }

  #clear(): void {
    if (!this.#shown) return;
    this.err.write('\r\x1b[2K');
    this.#shown = false;
  }
}
