/**
 * The dashboard's one connection to GET /api/events.
 *
 * - live: the stream is open; events are applied to the cache as they come.
 * - reconnecting: the stream dropped; EventSource retries with Last-Event-ID, and
 *   the server replays what was missed (or sends `reset`: refetch everything).
 * - polling: the stream could not be held (failed twice in a row, or was refused);
 *   queries refetch every 3 s while the stream keeps being retried.
 *
 * A tab that stays hidden lets go of its stream (browsers allow only about six
 * connections per server over HTTP/1.1, so idle background tabs would starve a
 * seventh) and resumes it with ?since= when shown again.
 *
 * Recent events are kept so a REST response that raced with the stream can be
 * brought up to date (see replaySince): each received event is numbered here
 * (`seq`, in arrival order); a fetch started after event N may or may not
 * contain events N+1…, and applying them again is harmless.
 *
 * Positions are event ids `<xid>.<seq>`, opaque here: the same in every server
 * process and across restarts, so a stream resumes (Last-Event-ID, ?since=) from
 * any of them; the server answers an id it can no longer replay with `reset`. A huge
 * event arrives as a reference (`truncated`, `url`): its item is fetched and the
 * whole event passed on then (or, if that fails, everything is refetched).
 */
import { api } from '../../api/client.ts';
import { LIVE_EVENT_TYPES, type LiveEvent } from '../../api/types.ts';

export type LiveMode = 'connecting' | 'live' | 'reconnecting' | 'polling';

export interface LiveOptions {
  url: string;
  /** Consecutive failures before polling takes over. */
  failuresBeforePolling: number;
  /** Silence (no event, no heartbeat) after which the stream counts as dead (ms). */
  silenceMs: number;
  /** How long queries wait for the stream before fetching anyway (ms). */
  readyWaitMs: number;
  /** Delay before a refused stream is tried again (ms). */
  retryMs: number;
  /** How long a hidden tab keeps its stream (ms). */
  hiddenCloseMs: number;
  /** GETs the item a reference points to. */
  fetchItem: (url: string) => Promise<unknown>;
}

const DEFAULTS: LiveOptions = {
  url: '/api/events', failuresBeforePolling: 2, silenceMs: 40_000, readyWaitMs: 1_500, retryMs: 5_000, hiddenCloseMs: 30_000,
  fetchItem: (url) => api('GET', url),
};

/** The field of each event type that holds its item. */
const ITEM_FIELD = { 'session.created': 'session', 'session.updated': 'session', 'message.created': 'message', 'log.created': 'log', 'approval.updated': 'approval' } as const;
const RECENT = 1_000;

export class LiveConnection {
  readonly opts: LiveOptions;
  mode: LiveMode = 'connecting';
  /** Number of the last event received (see replaySince), undefined before the first `ready`. */
  lastSeq: number | undefined;
  /** Last event id received (`<xid>.<seq>`): where a reopened stream resumes. */
  lastId: string | undefined;
  /** When the last event or heartbeat arrived (ms since epoch). */
  lastHeardAt = 0;
  #source: EventSource | undefined;
  #failures = 0;
  /** Events received so far: numbers them (`seq`) in arrival order. */
  #received = 0;
  #recent: LiveEvent[] = [];
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #watchdog: ReturnType<typeof setInterval> | undefined;
  #readyWaiters: (() => void)[] = [];
  #hiddenTimer: ReturnType<typeof setTimeout> | undefined;
  #onVisibility = () => {
    clearTimeout(this.#hiddenTimer);
    if (document.visibilityState === 'hidden') {
      this.#hiddenTimer = setTimeout(() => {
        clearTimeout(this.#retryTimer);
        this.#source?.close();
        this.#source = undefined;
        this.#setMode('reconnecting');
      }, this.opts.hiddenCloseMs);
    } else if (!this.#source) {
      clearTimeout(this.#retryTimer);
      this.#open();
    }
  };
  #onEvent = new Set<(e: LiveEvent) => void>();
  #onReset = new Set<() => void>();
  #onMode = new Set<(m: LiveMode) => void>();

  constructor(opts: Partial<LiveOptions> = {}) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  start(): void {
    if (this.#source) return;
    this.#open();
    document.addEventListener('visibilitychange', this.#onVisibility);
    this.#watchdog = setInterval(() => {
      if (this.mode === 'live' && this.#source && Date.now() - this.lastHeardAt > this.opts.silenceMs) this.#fail(true);
    }, 1_000);
  }

  stop(): void {
    this.#source?.close();
    this.#source = undefined;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#hiddenTimer);
    clearInterval(this.#watchdog);
    document.removeEventListener('visibilitychange', this.#onVisibility);
  }

  onEvent(fn: (e: LiveEvent) => void): () => void {
    this.#onEvent.add(fn);
    return () => this.#onEvent.delete(fn);
  }

  onReset(fn: () => void): () => void {
    this.#onReset.add(fn);
    return () => this.#onReset.delete(fn);
  }

  onMode(fn: (m: LiveMode) => void): () => void {
    this.#onMode.add(fn);
    return () => this.#onMode.delete(fn);
  }

  /** Resolves once the stream is ready or polling took over, or after readyWaitMs. */
  whenReady(): Promise<void> {
    if (this.mode === 'live' || this.mode === 'polling') return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.opts.readyWaitMs);
      this.#readyWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Events received after seq, oldest first (only as far back as the recent buffer). */
  replaySince(seq: number | undefined): LiveEvent[] {
    return seq === undefined ? [] : this.#recent.filter((e) => e.seq > seq);
  }

  #setMode(m: LiveMode): void {
    if (m === this.mode) return;
    this.mode = m;
    if (m === 'live' || m === 'polling') for (const w of this.#readyWaiters.splice(0)) w();
    for (const fn of this.#onMode) fn(m);
  }

  #open(): void {
    const url = this.lastId === undefined ? this.opts.url : `${this.opts.url}?since=${encodeURIComponent(this.lastId)}`;
    const source = new EventSource(url);
    this.#source = source;
    const heard = () => {
      this.lastHeardAt = Date.now();
    };
    for (const type of LIVE_EVENT_TYPES) {
      source.addEventListener(type, (msg) => {
        heard();
        const e = { ...(JSON.parse((msg as MessageEvent<string>).data) as LiveEvent), seq: ++this.#received };
        this.lastSeq = e.seq;
        this.lastId = (msg as MessageEvent<string>).lastEventId || this.lastId;
        if (e.truncated) void this.#resolve(e);
        else this.#deliver(e);
      });
    }
    source.addEventListener('heartbeat', heard);
    source.addEventListener('reset', (msg) => {
      heard();
      this.lastSeq = this.#received;
      this.lastId = (msg as MessageEvent<string>).lastEventId || this.lastId;
      this.#recent = [];
      for (const fn of this.#onReset) fn();
    });
    source.addEventListener('ready', (msg) => {
      heard();
      this.lastSeq = this.#received;
      this.lastId = (msg as MessageEvent<string>).lastEventId || this.lastId;
      this.#failures = 0;
      this.#setMode('live');
    });
    source.addEventListener('error', () => {
      if (source !== this.#source) return;
      this.#fail(source.readyState === EventSource.CLOSED);
    });
  }

  #deliver(e: LiveEvent): void {
    this.#recent.push(e);
    if (this.#recent.length > RECENT) this.#recent.splice(0, this.#recent.length - RECENT);
    for (const fn of this.#onEvent) fn(e);
  }

  /**
   * Fetches the item of a reference and delivers the whole event. Folding is
   * idempotent and order-free (by id, newest updated_at wins), so it may come
   * after events that followed it on the stream.
   */
  async #resolve(e: LiveEvent): Promise<void> {
    let item: unknown;
    try {
      if (!e.url) throw new Error('reference without url');
      item = await this.opts.fetchItem(e.url);
    } catch {
      // The item cannot be had (gone, or the network): refetch what is shown instead.
      for (const fn of this.#onReset) fn();
      return;
    }
    const { truncated: _truncated, url: _url, ...rest } = e;
    this.#deliver({ ...rest, [ITEM_FIELD[e.type]]: item } as LiveEvent);
  }

  /** closed: the browser gave up on this EventSource (refused, or we declared it dead); open a new one later. */
  #fail(closed: boolean): void {
    this.#failures += 1;
    this.#setMode(this.#failures >= this.opts.failuresBeforePolling || closed ? 'polling' : 'reconnecting');
    if (!closed) return; // EventSource retries by itself, sending Last-Event-ID
    this.#source?.close();
    this.#source = undefined;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => this.#open(), this.opts.retryMs);
  }
}
