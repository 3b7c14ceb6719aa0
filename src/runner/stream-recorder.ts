/**
 * Turns Claude Code's message stream into stored rows as they arrive: each
 * assistant text becomes a message, each tool_use/tool_result pair a command log.
 * The stream is the complete record: hooks miss tool calls that fail validation,
 * are denied or are interrupted (shared/reference/claude-code.md §0.1). Hook
 * callbacks only contribute the tool's own duration_ms.
 *
 * Writes are chained so they land in stream order; a failed write is logged and
 * does not stop the turn.
 */
import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import { contentChars, CostEstimate } from '../budgets/prices.ts';
import { buildLog } from '../hooks/tool-event.ts';
import { redact } from './claude-env.ts';
import type { Logger } from '../logger.ts';
import type { SessionService } from '../sessions/service.ts';
import type { Source } from '../sessions/types.ts';
import type { ModelUsageMap } from '../metrics/spend.ts';

interface PendingTool {
  name: string;
  input: unknown;
  startedAt: number;
  parentToolUseId: string | null;
}

export interface TurnResult {
  subtype: string;
  is_error: boolean;
  num_turns: number;
  duration_ms: number;
  total_cost_usd: number | null;
  input_tokens: number;
  output_tokens: number;
  terminal_reason: string | null;
  text: string | null;
  errors: string[];
  /** Tokens and cost per model, running totals of the Claude Code session (metrics split them per turn). */
  model_usage?: ModelUsageMap | undefined;
}

type Block = { type: string; [k: string]: unknown };

export class StreamRecorder {
  #chain: Promise<void> = Promise.resolve();
  readonly #pending = new Map<string, PendingTool>();
  readonly #hookDurations = new Map<string, number>();
  result: TurnResult | undefined;
  claudeSessionId: string | undefined;
  /** What the turn cost so far, estimated from the usage of each response (budgets). */
  readonly cost = new CostEstimate();

  constructor(
    private readonly deps: {
      sessions: SessionService;
      logger: Logger;
      sessionId: string;
      source: Source;
      resultMaxBytes: number;
      /** Values (API keys, tokens) that must not be stored: a tool that prints the environment would show them. */
      secrets: string[];
      /** Called with Claude Code's session id as soon as it is reported (again if it changes). */
      onClaudeSessionId: (id: string) => Promise<void>;
      /** Called with the turn's estimated cost so far after each model response (budgets). */
      onCost?: ((usd: number) => void) | undefined;
    },
  ) {}

  /** Records the tool's own run time reported by a PostToolUse/PostToolUseFailure hook. */
  noteHookDuration(toolUseId: string | undefined, durationMs: unknown): void {
    if (toolUseId && typeof durationMs === 'number') this.#hookDurations.set(toolUseId, durationMs);
  }

  /** The tool calls started and not yet answered, e.g. "waiting on Bash" (for the stall notice). */
  waitingOn(): string | undefined {
    const names = [...this.#pending.values()].map((p) => p.name);
    return names.length ? `waiting on ${names.join(', ')}` : undefined;
  }

  handle(m: SDKMessage): void {
    if (m.type === 'system' && m.subtype === 'init') {
      // A second attempt of a turn (lost transcript) runs in a new Claude Code session.
      if (this.claudeSessionId !== m.session_id) {
        this.claudeSessionId = m.session_id;
        this.#enqueue(() => this.deps.onClaudeSessionId(m.session_id));
      }
    } else if (m.type === 'assistant') {
      const msg = m.message;
      if (msg.usage) this.deps.onCost?.(this.cost.add(msg.id, msg.model, msg.usage, contentChars(msg.content)));
      this.#onAssistant(m.message.content as unknown as Block[], m.parent_tool_use_id);
    } else if (m.type === 'user') {
      const content = m.message.content;
      if (Array.isArray(content)) this.#onToolResults(content as unknown as Block[], (m as { tool_result_meta?: unknown }).tool_result_meta);
    } else if (m.type === 'result') {
      const usage = m.usage as { input_tokens?: number; output_tokens?: number } | undefined;
      this.result = {
        subtype: m.subtype,
        is_error: m.is_error,
        num_turns: m.num_turns,
        duration_ms: m.duration_ms,
        total_cost_usd: typeof m.total_cost_usd === 'number' ? m.total_cost_usd : null,
        input_tokens: usage?.input_tokens ?? 0,
        output_tokens: usage?.output_tokens ?? 0,
        terminal_reason: (m as { terminal_reason?: string }).terminal_reason ?? null,
        text: m.subtype === 'success' ? m.result : null,
        errors: m.subtype === 'success' ? [] : (m.errors ?? []),
        model_usage: (m as { modelUsage?: ModelUsageMap }).modelUsage,
      };
    }
  }

  #onAssistant(blocks: Block[], parentToolUseId: string | null): void {
    for (const b of blocks) {
      if (b.type === 'text' && typeof b.text === 'string' && b.text.trim() && !parentToolUseId) {
        const text = this.#redact(b.text);
        this.#enqueue(async () => {
          await this.deps.sessions.addMessage(this.deps.sessionId, { direction: 'assistant', content: text, source: this.deps.source });
        });
      } else if (b.type === 'tool_use' && typeof b.id === 'string') {
        this.#pending.set(b.id, { name: String(b.name), input: b.input, startedAt: Date.now(), parentToolUseId });
      }
    }
  }

  #onToolResults(blocks: Block[], meta: unknown): void {
    const metaById = new Map<string, Record<string, unknown>>();
    if (Array.isArray(meta)) for (const x of meta as Record<string, unknown>[]) if (typeof x.id === 'string') metaById.set(x.id, x);
    for (const b of blocks) {
      if (b.type !== 'tool_result' || typeof b.tool_use_id !== 'string') continue;
      const id = b.tool_use_id;
      const pending = this.#pending.get(id);
      this.#pending.delete(id);
      const extra: Record<string, unknown> = {};
      const kind = metaById.get(id)?.non_execution_kind;
      if (typeof kind === 'string') extra.not_executed = kind;
      if (pending?.parentToolUseId) extra.parent_tool_use_id = pending.parentToolUseId;
      this.#storeLog(id, pending, b.is_error === true ? 'error' : 'completed', contentText(b.content), extra);
    }
  }

  #storeLog(id: string, p: PendingTool | undefined, status: 'completed' | 'error', result: string | null, extra: Record<string, unknown>): void {
    const duration = this.#hookDurations.get(id) ?? (p ? Date.now() - p.startedAt : null);
    const input = p?.input === undefined ? null : JSON.parse(this.#redact(JSON.stringify(p.input))) as unknown;
    const log = buildLog(
      { tool: p?.name ?? 'unknown', tool_use_id: id, input, status, duration_ms: duration, metadata: { captured_by: 'runner', ...extra } },
      result === null ? null : this.#redact(result),
      this.deps.resultMaxBytes,
    );
    this.#enqueue(async () => {
      await this.deps.sessions.addLog(this.deps.sessionId, log);
    });
  }

  /** Tool calls that never got a result (the turn was interrupted or died) are logged as errors. */
  closeOpenTools(reason: string): void {
    for (const [id, p] of this.#pending) this.#storeLog(id, p, 'error', reason, { interrupted: true });
    this.#pending.clear();
  }

  #redact(text: string): string {
    return redact(text, this.deps.secrets);
  }

  /** Resolves when every write so far has landed. */
  flush(): Promise<void> {
    return this.#chain;
  }

  #enqueue(write: () => Promise<void>): void {
    this.#chain = this.#chain.then(write).catch((e: unknown) => {
      this.deps.logger.error({ err: e, sessionId: this.deps.sessionId }, 'failed to record stream item');
    });
  }
}

function contentText(content: unknown): string | null {
  if (content === undefined || content === null) return null;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return (content as Block[])
      .map((c) => (c.type === 'text' && typeof c.text === 'string' ? c.text : `[${c.type}]`))
      .join('\n');
  }
  return JSON.stringify(content);
}
