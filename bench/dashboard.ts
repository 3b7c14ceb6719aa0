/**
 * npm run bench:dashboard: the dashboard in headless Chromium against the real
 * server (embedded PostgreSQL; TEST_DB=postgres for a PostgreSQL server).
 *
 * - live latency: from the moment a tool call is stored (the server publishes it
 *   after the commit) to the frame in which its row is in the page, over 100
 *   tool calls posted to the hook endpoint 50 ms apart; p50 and p95.
 * - the same with the event stream blocked (the 3 s polling fallback), 20 calls.
 * - first load: navigation start to the session page showing its conversation
 *   and tool log, with a cold cache, median of 5.
 * - the JavaScript and CSS shipped, gzipped.
 * Both clocks are the machine's wall clock (performance.timeOrigin + now()).
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { WEB_ROOT } from '../src/main.ts';
import { createTestApp } from '../test/helpers/app.ts';
import { ensureWebBuilt, launchChromium } from '../test/helpers/browser.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 100);
const POLL_EVENTS = Number(process.env.BENCH_POLL_EVENTS ?? 20);
const LOADS = 5;
const now = () => performance.timeOrigin + performance.now();

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
const ms = (x: number) => `${x.toFixed(1)} ms`;

/** Records, in the page, when each new tool row is first painted (the frame after the DOM change). */
// A string, not a function: tsx would wrap a function's inner helpers with names the page does not have.
const WATCH_ROWS = `(() => {
  window.__seen = {};
  new MutationObserver(() => {
    requestAnimationFrame(() => {
      const t = performance.timeOrigin + performance.now();
      for (const el of document.querySelectorAll('[data-log-id]')) window.__seen[el.getAttribute('data-log-id')] ??= t;
    });
  }).observe(document.body, { childList: true, subtree: true });
})()`;

async function watchRows(page: Page): Promise<void> {
  await page.evaluate(WATCH_ROWS);
}

async function main(): Promise<void> {
  ensureWebBuilt();
  const t = await createTestApp({ webRoot: WEB_ROOT });
  const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
  const browser = await launchChromium();
  const stored = new Map<number, number>();
  t.events.subscribe((e) => {
    if (e.type === 'log.created') stored.set(e.log.id, now());
  });
  let hook = 0;
  const post = async (claudeId: string) => {
    hook += 1;
    const r = await fetch(`${url}/api/hooks/tool-complete`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ session_id: claudeId, tool_name: 'Bash', tool_use_id: `toolu_bench_${hook}`, tool_input: { command: `echo ${hook}` }, tool_response: { stdout: String(hook) }, duration_ms: 5 }),
    });
    return ((await r.json()) as { log_id: number }).log_id;
  };
  const measure = async (page: Page, claudeId: string, n: number, gapMs: number) => {
    const ids: number[] = [];
    for (let i = 0; i < n; i++) {
      ids.push(await post(claudeId));
      await new Promise((r) => setTimeout(r, gapMs));
    }
    await page.waitForFunction((want) => want.every((id) => (window as unknown as { __seen: Record<string, number> }).__seen[id] !== undefined), ids.map(String), { timeout: 30_000 });
    const seen = await page.evaluate(() => (window as unknown as { __seen: Record<string, number> }).__seen);
    return ids.map((id) => (seen[String(id)] ?? NaN) - (stored.get(id) ?? NaN));
  };

  try {
    // Live latency over SSE.
    const s = await t.sessions.create({ project_path: '/srv/bench/live', project_type: 'local', claude_session_id: 'claude-bench-live' });
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await ctx.newPage();
    await page.goto(`${url}/sessions/${s.id}`);
    await page.locator('[data-testid=live][data-mode=live]').waitFor();
    await page.getByText('No tool calls yet.').waitFor();
    await watchRows(page);
    const live = await measure(page, 'claude-bench-live', EVENTS, 50);
    await ctx.close();

    // Polling fallback: the event stream is refused.
    const p = await t.sessions.create({ project_path: '/srv/bench/poll', project_type: 'local', claude_session_id: 'claude-bench-poll' });
    const pctx = await browser.newContext();
    const ppage = await pctx.newPage();
    await ppage.route('**/api/events**', (r) => r.abort('connectionreset'));
    await ppage.goto(`${url}/sessions/${p.id}`);
    await ppage.locator('[data-testid=live][data-mode=polling]').waitFor();
    await ppage.getByText('No tool calls yet.').waitFor();
    await watchRows(ppage);
    const polled = await measure(ppage, 'claude-bench-poll', POLL_EVENTS, 450);
    await pctx.close();

    // First load of a session page with 50 messages and the 100 tool calls above.
    for (let i = 0; i < 50; i++) await t.sessions.addMessage(s.id, { direction: i % 2 ? 'assistant' : 'user', content: `message ${i}\n\n\`\`\`\ncode ${i}\n\`\`\`` });
    const loads: number[] = [];
    for (let i = 0; i < LOADS; i++) {
      const c = await browser.newContext();
      const lp = await c.newPage();
      await lp.goto(`${url}/sessions/${s.id}`, { waitUntil: 'commit' });
      await lp.waitForFunction((n) => document.querySelectorAll('[data-log-id]').length >= n && document.querySelectorAll('[data-message-id]').length >= 50, EVENTS);
      loads.push(await lp.evaluate(() => performance.now()));
      await c.close();
    }

    const assets = path.join(WEB_ROOT, 'assets');
    const gz = (ext: string) => fs.readdirSync(assets).filter((f) => f.endsWith(ext)).reduce((sum, f) => sum + gzipSync(fs.readFileSync(path.join(assets, f)), { level: 9 }).length, 0);
    const raw = (ext: string) => fs.readdirSync(assets).filter((f) => f.endsWith(ext)).reduce((sum, f) => sum + fs.statSync(path.join(assets, f)).size, 0);

    const lines = [
      `backend: ${t.db.database.backend}, chromium headless, ${EVENTS} live events, ${POLL_EVENTS} polled events`,
      `live (SSE) stored -> painted: p50 ${ms(pct(live, 50))}, p95 ${ms(pct(live, 95))}, max ${ms(Math.max(...live))}`,
      `polling fallback stored -> painted: p50 ${ms(pct(polled, 50))}, p95 ${ms(pct(polled, 95))}`,
      `first load (session page, 50 messages + ${EVENTS} tool calls, cold cache): median ${ms(pct(loads, 50))} of ${LOADS} (${loads.map((x) => x.toFixed(0)).join(', ')})`,
      `JavaScript shipped: ${(gz('.js') / 1024).toFixed(1)} KB gzipped (${(raw('.js') / 1024).toFixed(1)} KB raw); CSS ${(gz('.css') / 1024).toFixed(1)} KB gzipped`,
    ];
    console.log(lines.join('\n'));
  } finally {
    await browser.close();
    await t.close();
  }
}

await main();
