/**
 * The Prometheus metrics of one server process (issue 16, point 3): one prom-client Registry per
 * Metrics object, never the library's global one, so several servers in one process (tests) keep
 * apart. Counters are bumped where things happen, in the process they happen in (tool executions
 * and hook events where they are stored, turns and spend in the runner that ran them, deliveries
 * in the sender that made them, requests in the API that answered them); the session and queue
 * gauges are read from the database at scrape time. Label values are bounded sets (tool names,
 * statuses, route patterns, models capped at MAX_MODELS): no ids, no URLs.
 */
import client from 'prom-client';
import type { Database } from '../db/database.ts';
import type { OrchestratorEvent } from '../events/bus.ts';
import type { Logger } from '../logger.ts';
import { readStateCounts, type StateCounts } from '../db/queries/metrics.ts';
import { ModelSpend, type ModelUsageMap } from './spend.ts';

/** Claude Code's built-in tools; MCP tools (mcp__server__tool) count as `mcp`, anything else as `other`. */
export const KNOWN_TOOLS: ReadonlySet<string> = new Set([
  'Agent', 'AskUserQuestion', 'Bash', 'BashOutput', 'Edit', 'EnterPlanMode', 'ExitPlanMode', 'Glob', 'Grep', 'KillShell', 'LS',
  'ListMcpResourcesTool', 'Monitor', 'MultiEdit', 'NotebookEdit', 'NotebookRead', 'Read', 'ReadMcpResourceTool', 'Skill', 'SlashCommand',
  'Task', 'TaskOutput', 'TaskStop', 'TodoWrite', 'ToolSearch', 'WebFetch', 'WebSearch', 'Write',
]);

export function toolLabel(name: string): string {
  if (KNOWN_TOOLS.has(name)) return name;
  return name.startsWith('mcp__') ? 'mcp' : 'other';
}

const HOOK_OUTCOMES = ['ingested', 'duplicate', 'ignored', 'refused'] as const;
const DELIVERY_OUTCOMES = ['delivered', 'retried', 'failed'] as const;
const TURN_OUTCOMES = ['completed', 'error', 'interrupted', 'timed_out', 'cancelled'] as const;
export type HookOutcome = (typeof HOOK_OUTCOMES)[number];
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];
export type TurnOutcomeLabel = (typeof TURN_OUTCOMES)[number];

export interface TurnEndedInput {
  outcome: TurnOutcomeLabel;
  seconds: number;
  /** The Claude Code session the turn ran in (its spend is a running total within it). */
  claudeSessionId: string | null;
  /** This turn's cost (the running total less earlier turns'), as stored on the turn row. */
  costUsd: number | null;
  /** Claude Code's running total at the end of this turn. */
  cumulativeCostUsd: number | null;
  modelUsage: ModelUsageMap | undefined;
}

export interface MetricsOptions {
  /** Reads the session and turn gauges at scrape time. */
  database: Database;
  logger: Logger;
  /** How long a database read of the gauges is reused (ms). */
  stateCacheMs?: number;
  /** Node process metrics (CPU, memory, event loop, GC): on in servers. */
  processMetrics?: boolean;
  /** Turns running in this process (the runner), read at scrape time. */
  runningHere?: () => number;
}

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const TURN_BUCKETS = [1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];

export class Metrics {
  readonly registry = new client.Registry();
  readonly #o: Required<Omit<MetricsOptions, 'runningHere'>> & Pick<MetricsOptions, 'runningHere'>;
  readonly #spend = new ModelSpend();
  #state: { at: number; counts: Promise<StateCounts | undefined> } | undefined;

  readonly toolExecutions: client.Counter<'tool' | 'status'>;
  readonly toolDuration: client.Histogram<'tool'>;
  readonly turns: client.Counter<'outcome'>;
  readonly turnDuration: client.Histogram<'outcome'>;
  readonly hookEvents: client.Counter<'outcome'>;
  readonly webhookDeliveries: client.Counter<'outcome'>;
  readonly slackDeliveries: client.Counter<'outcome'>;
  readonly httpDuration: client.Histogram<'method' | 'route' | 'status_code'>;
  readonly costUsd: client.Counter<'model'>;
  readonly tokens: client.Counter<'model' | 'type'>;

  constructor(options: MetricsOptions) {
    this.#o = { stateCacheMs: 5000, processMetrics: false, ...options };
    const registers = [this.registry];
    this.toolExecutions = new client.Counter({ name: 'cco_tool_executions_total', help: 'Tool executions stored (by the runner or from hooks), by tool and status (completed, error).', labelNames: ['tool', 'status'], registers });
    this.toolDuration = new client.Histogram({ name: 'cco_tool_duration_seconds', help: 'How long tool executions took, by tool.', labelNames: ['tool'], buckets: SECONDS_BUCKETS, registers });
    this.turns = new client.Counter({ name: 'cco_turns_total', help: 'Turns ended in this process, by outcome (completed, error, interrupted, timed_out, cancelled).', labelNames: ['outcome'], registers });
    this.turnDuration = new client.Histogram({ name: 'cco_turn_duration_seconds', help: 'Wall time of turns from claim to record, by outcome.', labelNames: ['outcome'], buckets: TURN_BUCKETS, registers });
    this.hookEvents = new client.Counter({ name: 'cco_hook_events_total', help: 'Hook events received, by outcome: ingested, duplicate (a redelivery), ignored (recorded by the runner itself), refused (4xx).', labelNames: ['outcome'], registers });
    this.webhookDeliveries = new client.Counter({ name: 'cco_webhook_deliveries_total', help: 'Webhook delivery attempts, by outcome: delivered, retried (failed, tried again later), failed (given up).', labelNames: ['outcome'], registers });
    this.slackDeliveries = new client.Counter({ name: 'cco_slack_deliveries_total', help: 'Slack outbox posts, by outcome: delivered, retried, failed (given up).', labelNames: ['outcome'], registers });
    this.httpDuration = new client.Histogram({ name: 'cco_http_request_duration_seconds', help: 'HTTP requests answered, by method, route pattern and status code.', labelNames: ['method', 'route', 'status_code'], buckets: SECONDS_BUCKETS, registers });
    this.costUsd = new client.Counter({ name: 'cco_cost_usd_total', help: "Claude Code's estimated spend of turns run in this process (USD), by model.", labelNames: ['model'], registers });
    this.tokens = new client.Counter({ name: 'cco_tokens_total', help: 'Tokens of turns run in this process, by model and type (input, output, cache_read, cache_creation).', labelNames: ['model', 'type'], registers });
    // The gauges of one scrape share one database read (#readState); a failed read leaves them as they were.
    const read = () => this.#readState();
    new client.Gauge({
      name: 'cco_sessions', help: 'Sessions by status (whole database; every process reports the same).', labelNames: ['status'], registers,
      async collect() {
        const c = await read();
        if (c) for (const [status, n] of Object.entries(c.sessions)) this.set({ status }, n);
      },
    });
    new client.Gauge({
      name: 'cco_turns_running', help: 'Turns running now (whole database).', registers,
      async collect() {
        const c = await read();
        if (c) this.set(c.running);
      },
    });
    new client.Gauge({
      name: 'cco_turns_queued', help: 'Turns waiting in the queue (whole database).', registers,
      async collect() {
        const c = await read();
        if (c) this.set(c.queued);
      },
    });
    new client.Gauge({
      name: 'cco_search_index_pending', help: 'Messages and tool logs stored but not yet given their search vector by the indexer (whole database); searches still find them.', labelNames: ['table'], registers,
      async collect() {
        const c = await read();
        if (c) for (const [table, n] of Object.entries(c.searchPending)) this.set({ table }, n);
      },
    });
    const runningHere = this.#o.runningHere;
    new client.Gauge({ name: 'cco_runner_turns_running', help: 'Turns running in this process (0 where no runner runs).', registers, collect() { this.set(runningHere?.() ?? 0); } });
    // Bounded outcomes start at 0, so their series exist (and rate() works) before the first event.
    for (const outcome of TURN_OUTCOMES) this.turns.inc({ outcome }, 0);
    for (const outcome of HOOK_OUTCOMES) this.hookEvents.inc({ outcome }, 0);
    for (const outcome of DELIVERY_OUTCOMES) {
      this.webhookDeliveries.inc({ outcome }, 0);
      this.slackDeliveries.inc({ outcome }, 0);
    }
    if (this.#o.processMetrics) client.collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The text exposition of every metric. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Called for every event this process publishes (once, where it was stored). */
  onPublished(e: OrchestratorEvent): void {
    if (e.type !== 'log.created') return;
    const tool = toolLabel(e.log.tool);
    this.toolExecutions.inc({ tool, status: e.log.status === 'error' ? 'error' : 'completed' });
    if (typeof e.log.duration_ms === 'number' && e.log.duration_ms >= 0) this.toolDuration.observe({ tool }, e.log.duration_ms / 1000);
  }

  turnEnded(t: TurnEndedInput): void {
    this.turns.inc({ outcome: t.outcome });
    this.turnDuration.observe({ outcome: t.outcome }, Math.max(0, t.seconds));
    for (const s of this.#spend.shares(t.claudeSessionId, t.costUsd, t.cumulativeCostUsd, t.modelUsage)) {
      if (s.costUsd > 0) this.costUsd.inc({ model: s.model }, s.costUsd);
      for (const [type, n] of Object.entries(s.tokens)) if (n > 0) this.tokens.inc({ model: s.model, type }, n);
    }
  }

  hookEvent(outcome: HookOutcome, n = 1): void {
    if (n > 0) this.hookEvents.inc({ outcome }, n);
  }

  webhookDelivery(outcome: DeliveryOutcome): void {
    this.webhookDeliveries.inc({ outcome });
  }

  slackDelivery(outcome: DeliveryOutcome): void {
    this.slackDeliveries.inc({ outcome });
  }

  httpRequest(method: string, route: string, statusCode: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status_code: String(statusCode) }, seconds);
  }

  /** The gauges' database read, shared by the gauges of one scrape and reused for stateCacheMs. */
  #readState(): Promise<StateCounts | undefined> {
    const now = Date.now();
    if (!this.#state || now - this.#state.at > this.#o.stateCacheMs) {
      const counts: Promise<StateCounts | undefined> = readStateCounts(this.#o.database.db).catch((e: unknown) => {
        this.#o.logger.warn({ err: e }, 'metrics: could not read session and turn counts');
        // A failed read is not kept: the next scrape tries again.
        if (this.#state?.counts === counts) this.#state = undefined;
        return undefined;
      });
      this.#state = { at: now, counts };
    }
    return this.#state.counts;
  }
}
