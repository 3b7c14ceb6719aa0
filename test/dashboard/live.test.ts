/**
 * Live updates in Chromium: changes stored through the API appear without a
 * reload; actions; replay after a dropped connection (a real cut TCP
 * connection); the polling fallback when the stream cannot be held.
 *
 * @backends embedded: the page in a browser; the API and database paths it drives are tested on both backends by the API tests.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { call, createTestApp } from '../helpers/app.ts';
import { screenshot, startDashboard, type Dashboard } from '../helpers/browser.ts';
import { waitFor } from '../helpers/hook-server.ts';
import { createSession, postMessage, postToolHook } from '../helpers/seed.ts';

let d: Dashboard;
let s: { id: string; claude_session_id: string | null };

before(async () => {
  d = await startDashboard({ proxy: true });
  s = await createSession(d.t.app, { project_path: '/srv/live/app', claude_session_id: 'claude-live-1' });
  await postMessage(d.t.app, s.id, 'user', 'Run the tests');
});
after(async () => {
  await d?.close();
});

const toolCount = (p: Page) => p.getByTestId('tool-log').locator('li').count();
const mode = (p: Page) => p.getByTestId('live').getAttribute('data-mode');

async function openSession(): Promise<Page> {
  const { page } = await d.newPage();
  await page.goto(`${d.url}/sessions/${s.id}`);
  await page.locator('[data-testid=live][data-mode=live]').waitFor();
  await page.getByTestId('conversation').waitFor();
  await page.locator('[data-testid=tool-log], .tools-panel .empty').first().waitFor(); // the tool log has loaded
  return page;
}

describe('live updates', () => {
  test('new tool calls and messages appear without reloading', async () => {
    const page = await openSession();
    let navigations = 0;
    page.on('framenavigated', () => navigations++);
    await page.getByText('No tool calls yet.').waitFor();
    for (let i = 1; i <= 3; i++) {
      await postToolHook(d.t.app, 'claude-live-1', `step ${i}`, `done ${i}`);
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid=tool-log] li').length === n, i);
    }
    assert.match(await page.getByTestId('tool-log').innerText(), /step 3/);
    await postMessage(d.t.app, s.id, 'assistant', 'All **three** steps passed.');
    await page.getByTestId('conversation').locator('.message.assistant strong', { hasText: 'three' }).waitFor();
    assert.equal(navigations, 0, 'no reload happened');
    await page.close();
  });

  test('the list shows new sessions and reorders on activity, live', async () => {
    const { page } = await d.newPage();
    await page.goto(d.url);
    await page.locator('[data-testid=live][data-mode=live]').waitFor();
    const other = await createSession(d.t.app, { project_path: '/srv/live/newcomer' });
    const firstRow = page.locator('[data-testid=sessions] tbody tr').first();
    await page.waitForFunction((id) => document.querySelector('[data-testid=sessions] tbody tr')?.getAttribute('data-session-id') === id, other.id);
    await postToolHook(d.t.app, 'claude-live-1', 'again', 'ok');
    await page.waitForFunction((id) => document.querySelector('[data-testid=sessions] tbody tr')?.getAttribute('data-session-id') === id, s.id);
    assert.match(await firstRow.innerText(), /app/);
    // A paused session leaves a list filtered on active ones.
    await page.getByLabel('Status').selectOption('active');
    await page.locator(`tr[data-session-id="${other.id}"]`).waitFor();
    await d.t.sessions.update(other.id, { status: 'paused' });
    await page.locator(`tr[data-session-id="${other.id}"]`).waitFor({ state: 'detached' });
    await page.close();
  });

  test('pause, resume and close from the session page', async () => {
    const page = await openSession();
    const status = page.locator('.session-head [data-testid=status]');
    await page.getByRole('button', { name: 'Pause' }).click();
    await status.filter({ hasText: 'paused' }).waitFor();
    assert.equal((await d.t.sessions.get(s.id)).status, 'paused');
    await page.getByRole('button', { name: 'Resume' }).click();
    await status.filter({ hasText: 'active' }).waitFor();
    assert.equal((await d.t.sessions.get(s.id)).status, 'active');
    // A change made elsewhere (another tab, the API) shows up too.
    await d.t.sessions.update(s.id, { status: 'paused' });
    await status.filter({ hasText: 'paused' }).waitFor();
    await d.t.sessions.update(s.id, { status: 'active' });
    await status.filter({ hasText: 'active' }).waitFor();
    await page.close();
  });

  test('a message sent from the page is stored and shown; a failed send says why', async () => {
    const page = await openSession();
    await page.getByLabel('Message to Claude').fill('Please also update the changelog');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByTestId('conversation').getByText('Please also update the changelog').waitFor();
    const stored = await d.t.sessions.listMessages(s.id, 100);
    const mine = stored.data.find((m) => m.content === 'Please also update the changelog');
    assert.equal(mine?.direction, 'user');
    assert.equal(mine?.source, 'dashboard');
    // The server refuses (here: the request is cut off): the text stays and the error is shown.
    await page.route('**/api/sessions/*/messages', (r) => (r.request().method() === 'POST' ? r.abort('connectionrefused') : r.continue()));
    await page.getByLabel('Message to Claude').fill('this one fails');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByRole('alert').filter({ hasText: 'Not sent' }).waitFor();
    assert.equal(await page.getByLabel('Message to Claude').inputValue(), 'this one fails');
    await page.close();
  });
});

describe('connection loss', () => {
  test('after a dropped connection the stream resumes with Last-Event-ID and replays what was missed', async () => {
    const page = await openSession();
    const before = await toolCount(page);
    const lastId = d.t.events.lastId;
    const eventRequests: (string | undefined)[] = [];
    const refetches: string[] = [];
    const headerReads: Promise<void>[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/events')) {
        // allHeaders(): the Last-Event-ID the browser's network stack really sent.
        headerReads.push(r.allHeaders().then((h) => void eventRequests.push(h['last-event-id'] ?? `since:${new URL(r.url()).searchParams.get('since')}`)));
      } else if (r.url().includes('/logs')) refetches.push(r.url());
    });
    d.proxy!.cut();
    await page.waitForFunction(() => document.querySelector('[data-testid=live]')?.getAttribute('data-mode') !== 'live');
    // Stored while the browser is cut off: the page cannot see these yet.
    for (let i = 0; i < 3; i++) await postToolHook(d.t.app, 'claude-live-1', `missed ${i}`, 'ok');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await toolCount(page), before);
    d.proxy!.restore();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=tool-log] li').length === n, before + 3);
    await page.locator('[data-testid=live][data-mode=live]').waitFor();
    await Promise.all(headerReads);
    assert.ok(eventRequests.some((h) => h === lastId || h === `since:${lastId}`), `reconnect resumed from ${lastId}: ${eventRequests.join(',')}`);
    assert.deepEqual(refetches, [], 'the missed calls came from the replay, not a refetch');
    await page.close();
  });

  test('a huge message arrives as a reference: the page fetches that one message and stays live', async () => {
    const page = await openSession();
    const fetched: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/messages')) fetched.push(new URL(r.url()).pathname + new URL(r.url()).search);
    });
    let modes = '';
    await page.exposeFunction('__mode', (m: string) => void (modes += `${m},`));
    await page.evaluate(() => {
      const el = document.querySelector('[data-testid=live]')!;
      new MutationObserver(() => (window as unknown as { __mode: (m: string) => void }).__mode(el.getAttribute('data-mode') ?? '')).observe(el, { attributes: true });
    });
    // 4.6 MB (in metadata: content is limited to 1 MB): far over SSE_EVENT_MAX_BYTES.
    const r = await call(d.t.app, 'POST', `/api/sessions/${s.id}/messages`, { direction: 'assistant', content: 'A huge reply arrived', metadata: { blob: 'h'.repeat(4.6 * 1024 * 1024) } });
    assert.equal(r.status, 201);
    await page.getByTestId('conversation').getByText('A huge reply arrived').waitFor({ timeout: 30_000 });
    assert.deepEqual(fetched, [`/api/sessions/${s.id}/messages/${r.body.id}`], 'only the referenced message was fetched');
    assert.equal(await mode(page), 'live');
    assert.equal(modes, '', 'the stream never dropped');
    await page.close();
  });

  test('after a server restart the page resumes there and shows what changed meanwhile', async () => {
    const page = await openSession();
    // A second server process on the same database: it replays from live_events what the page missed.
    const restarted = await createTestApp({ db: d.t.db });
    try {
      const port = Number(new URL(await restarted.app.listen({ host: '127.0.0.1', port: 0 })).port);
      // Stored by the new process only; the page, still on the old one, cannot have seen it.
      await postMessage(restarted.app, s.id, 'assistant', 'Written after the restart');
      d.proxy!.cut();
      d.proxy!.retarget(port);
      d.proxy!.restore();
      await page.getByTestId('conversation').getByText('Written after the restart').waitFor({ timeout: 30_000 });
      await page.locator('[data-testid=live][data-mode=live]').waitFor();
    } finally {
      d.proxy!.cut();
      d.proxy!.retarget(Number(new URL(d.serverUrl).port));
      d.proxy!.restore();
      await page.close();
      await restarted.close();
    }
  });

  test('when the stream cannot be held, the page polls every 3 s and marks failures as stale', async () => {
    const { page } = await d.newPage();
    // Something between browser and server (a buffering proxy, say) breaks event streams.
    await page.route('**/api/events**', (r) => r.abort('connectionreset'));
    await page.goto(`${d.url}/sessions/${s.id}`);
    await page.locator('[data-testid=live][data-mode=polling]').waitFor();
    const before = await toolCount(page);
    await postToolHook(d.t.app, 'claude-live-1', 'seen by polling', 'ok');
    const started = Date.now();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=tool-log] li').length === n, before + 1, { timeout: 8000 });
    assert.ok(Date.now() - started < 6500, `polling (every 3 s) picked it up in ${Date.now() - started} ms`);
    // The server becomes unreachable too: what is shown is marked stale, not silently kept.
    d.proxy!.cut();
    await page.getByTestId('stale').first().waitFor({ timeout: 8000 });
    await screenshot(page, 'session-stale');
    d.proxy!.restore();
    await page.getByTestId('stale').first().waitFor({ state: 'detached', timeout: 8000 });
    // Once the stream is allowed again, the page goes back to live.
    await page.unroute('**/api/events**');
    await page.locator('[data-testid=live][data-mode=live]').waitFor({ timeout: 15_000 });
    assert.equal(await mode(page), 'live');
    await page.close();
  });

  test('a tab hidden for a while lets go of its stream and catches up when shown', async () => {
    const { page } = await d.newPage();
    await page.clock.install();
    await page.goto(`${d.url}/sessions/${s.id}`);
    await page.locator('[data-testid=live][data-mode=live]').waitFor();
    await page.locator('[data-testid=tool-log], .tools-panel .empty').first().waitFor();
    const before = await toolCount(page);
    const setVisibility = (state: 'hidden' | 'visible') =>
      page.evaluate((v) => {
        Object.defineProperty(document, 'visibilityState', { value: v, configurable: true });
        document.dispatchEvent(new Event('visibilitychange'));
      }, state);
    await setVisibility('hidden');
    await page.clock.fastForward(31_000);
    await page.locator('[data-testid=live][data-mode=reconnecting]').waitFor();
    await postToolHook(d.t.app, 'claude-live-1', 'while hidden', 'ok');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await toolCount(page), before, 'no stream while hidden');
    await setVisibility('visible');
    await page.locator('[data-testid=live][data-mode=live]').waitFor();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=tool-log] li').length === n, before + 1);
    await page.close();
  });

  test('a load that failed while the server was unreachable is done again once the stream is back', async () => {
    const one = await createSession(d.t.app, { project_path: '/srv/live/failed-load', claude_session_id: 'claude-failed-load-1' });
    const { page } = await d.newPage();
    // The tool log cannot be loaded (its retry neither), while the stream holds.
    await page.route('**/api/sessions/*/logs**', (r) => r.abort('connectionreset'));
    await page.goto(`${d.url}/sessions/${one.id}`);
    await page.locator('[data-testid=live][data-mode=live]').waitFor();
    await page.getByRole('alert').filter({ hasText: 'Could not load' }).waitFor({ timeout: 8000 });
    // A short cut: the stream drops and comes back by itself (retry after 1 s), without the polling fallback.
    d.proxy!.cut();
    await page.waitForFunction(() => document.querySelector('[data-testid=live]')?.getAttribute('data-mode') !== 'live');
    await postToolHook(d.t.app, 'claude-failed-load-1', 'while cut', 'ok');
    await page.unroute('**/api/sessions/*/logs**');
    d.proxy!.restore();
    await page.locator('[data-testid=live][data-mode=live]').waitFor({ timeout: 15_000 });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=tool-log] li').length === 1, undefined, { timeout: 10_000 });
    assert.equal(await page.getByRole('alert').filter({ hasText: 'Could not load' }).count(), 0);
    await page.close();
  });

  test('a gap too old to replay makes the page refetch (reset)', async () => {
    // A small replay memory, and a table that keeps nothing once pruned: what the page missed is gone.
    const small = await startDashboard({ proxy: true, eventCapacity: 5, live: { pruner: { retentionS: 0 } } });
    try {
      const one = await createSession(small.t.app, { project_path: '/srv/live/reset', claude_session_id: 'claude-reset-1' });
      const { page } = await small.newPage();
      await page.goto(`${small.url}/sessions/${one.id}`);
      await page.locator('[data-testid=live][data-mode=live]').waitFor();
      await page.locator('[data-testid=tool-log], .tools-panel .empty').first().waitFor();
      small.proxy!.cut();
      await page.waitForFunction(() => document.querySelector('[data-testid=live]')?.getAttribute('data-mode') !== 'live');
      for (let i = 0; i < 8; i++) await postToolHook(small.t.app, 'claude-reset-1', `burst ${i}`, 'ok'); // more than memory holds
      // The events reach the table a moment after their writes commit: prune until they have gone.
      let pruned = 0;
      await waitFor(async () => (pruned += await small.t.live.pruner.pruneNow()) >= 8, 10_000, 'the missed events pruned from the table');
      let logLoads = 0;
      page.on('request', (r) => {
        if (r.url().includes(`/api/sessions/${one.id}/logs`)) logLoads += 1;
      });
      small.proxy!.restore();
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=tool-log] li').length === 8, undefined, { timeout: 15_000 });
      assert.ok(logLoads >= 1, 'the tool log was loaded again, not replayed');
    } finally {
      await small.close();
    }
  });
});
