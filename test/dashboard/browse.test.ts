/**
 * The sessions list and a session page, in Chromium: sorting, filters, paging, conversation, tool log, metadata.
 *
 * @backends embedded: the page in a browser; the API and database paths it drives are tested on both backends by the API tests.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { screenshot, startDashboard, type Dashboard } from '../helpers/browser.ts';
import { createSession, postMessage, postToolHook } from '../helpers/seed.ts';

let d: Dashboard;
let page: Page;
let main: { id: string; claude_session_id: string | null };

const ANSWER = [
  '## Plan',
  'I ran the **tests** and fixed `parseDate`:',
  '',
  '```ts',
  'export const parseDate = (s: string) => new Date(s);',
  '```',
  '',
  '- first item',
  '- second item with [docs](https://example.com/docs)',
  '',
  'Not HTML: <script>window.__pwned = true</script> <img src=x onerror="window.__pwned=true">',
  '[bad link](javascript:alert(1))',
].join('\n');

before(async () => {
  d = await startDashboard({ resultMaxBytes: 1024 });
  const app = d.t.app;
  // 60 older sessions so the list needs more than one page (50 per page).
  for (let i = 0; i < 60; i++) {
    await createSession(app, { project_path: `/srv/bulk/project-${String(i).padStart(2, '0')}`, project_type: i % 2 ? 'github' : 'local', metadata: { batch: 'bulk' } });
  }
  const paused = await createSession(app, { project_path: '/srv/acme/paused-one', project_type: 'worktree', metadata: { ticket: 'OPS-77' } });
  await d.t.sessions.update(paused.id, { status: 'paused' });
  main = await createSession(app, { project_path: '/home/dev/src/billing-api', project_type: 'github', claude_session_id: 'claude-browse-1', metadata: { ticket: 'BILL-9', reviewer: 'dana' } });
  await postMessage(app, main.id, 'user', 'Fix the date parsing bug');
  await postToolHook(app, 'claude-browse-1', 'npm test', 'ok 12 tests passed', { durationMs: 2300 });
  await postToolHook(app, 'claude-browse-1', 'cat big.log', 'x'.repeat(5000));
  await postToolHook(app, 'claude-browse-1', 'false', 'exit code 1', { failed: true });
  await postMessage(app, main.id, 'assistant', ANSWER);
  await postMessage(app, main.id, 'system', 'Turn interrupted: timeout after 600 s');
  ({ page } = await d.newPage());
});
after(async () => {
  await d?.close();
});

const rows = (p: Page) => p.locator('[data-testid=sessions] tbody tr');

describe('sessions list', () => {
  test('shows the newest activity first with status, project, source and time', async () => {
    await page.goto(d.url);
    await page.locator('[data-testid=live][data-mode=live]').waitFor();
    const first = rows(page).first();
    await first.waitFor();
    assert.equal(await first.getAttribute('data-session-id'), main.id);
    assert.match(await first.innerText(), /billing-api/);
    assert.match(await first.innerText(), /active/);
    assert.match(await first.innerText(), /api/);
    assert.match(await first.innerText(), /just now|s ago/);
    assert.equal(await rows(page).count(), 50, 'first page only');
    // AUTH=off: nothing about signing in.
    assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0);
    assert.equal(await page.getByTestId('whoami').count(), 0);
    await page.getByRole('link', { name: 'New session' }).waitFor();
    await screenshot(page, 'list-desktop');
  });

  test('scrolling to the end loads the next page', async () => {
    await page.locator('.load-more').scrollIntoViewIfNeeded();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=sessions] tbody tr').length === 62);
    await page.getByText('End of list · 62 sessions').waitFor();
  });

  test('filters by status and project type, and the URL keeps them', async () => {
    await page.getByLabel('Status').selectOption('paused');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=sessions] tbody tr').length === 1);
    assert.match(await rows(page).first().innerText(), /paused-one/);
    assert.match(page.url(), /status=paused/);
    await page.getByLabel('Status').selectOption('');
    await page.getByLabel('Project type').selectOption('worktree');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=sessions] tbody tr').length === 1);
    await page.getByLabel('Project type').selectOption('');
  });

  test('filters by project path and metadata text', async () => {
    await page.getByRole('button', { name: 'More filters' }).click();
    await page.getByLabel('Title, path or metadata').fill('ops-77');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=sessions] tbody tr').length === 1);
    assert.match(await rows(page).first().innerText(), /paused-one/);
    assert.match(page.url(), /contains=ops-77/);
    await page.getByLabel('Title, path or metadata').fill('no-such-thing');
    // By element: Playwright's text engine trips over the date inputs' shadow roots in the open filter panel.
    await page.waitForFunction(() => document.querySelector('p.empty')?.textContent === 'No session matches these filters.');
    await page.getByLabel('Title, path or metadata').fill('');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=sessions] tbody tr').length >= 50);
  });
});

describe('session page', () => {
  test('opens from the list and shows the conversation with Markdown', async () => {
    await page.locator(`tr[data-session-id="${main.id}"] a`).click();
    await page.waitForURL(`**/sessions/${main.id}`);
    const conv = page.getByTestId('conversation');
    await conv.locator('.message.assistant').waitFor();
    assert.equal(await conv.locator('.message').count(), 3);
    const answer = conv.locator('.message.assistant');
    assert.equal(await answer.locator('h4').innerText(), 'Plan');
    assert.equal(await answer.locator('.markdown strong').first().innerText(), 'tests');
    assert.match(await answer.locator('pre code').innerText(), /export const parseDate/);
    assert.equal(await answer.locator('li').count(), 2);
    assert.equal(await answer.locator('a[href="https://example.com/docs"]').count(), 1);
    // Raw HTML is shown as text, never run; unsafe links lose their target.
    assert.match(await answer.innerText(), /<script>window.__pwned = true<\/script>/);
    assert.equal(await answer.locator('script, img').count(), 0);
    assert.equal(await answer.locator('a[href^="javascript"]').count(), 0);
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: boolean }).__pwned), undefined);
    assert.match(await conv.locator('.message.system').innerText(), /Turn interrupted: timeout/);
    assert.match(await conv.locator('.message.user').innerText(), /User · api ·/);
  });

  test('shows the tool log with status and duration, expandable, with the truncation notice', async () => {
    const tools = page.getByTestId('tool-log').locator('li');
    assert.equal(await tools.count(), 3);
    assert.match(await tools.nth(0).innerText(), /Bash\s+npm test/);
    assert.match(await tools.nth(0).innerText(), /completed .* 2\.3 s/);
    assert.match(await tools.nth(2).innerText(), /error/);
    await tools.nth(1).locator('summary').click();
    await tools.nth(1).getByRole('note').waitFor();
    assert.match(await tools.nth(1).getByRole('note').innerText(), /Output cut to 1\.0 KB of/);
    assert.match(await tools.nth(1).locator('pre').first().innerText(), /"command": "cat big.log"/);
  });

  test('shows the metadata panel', async () => {
    const meta = await page.getByTestId('metadata').innerText();
    for (const want of [main.id, 'claude-browse-1', '/home/dev/src/billing-api (github)', 'no (recorded only)', 'BILL-9', 'dana']) {
      assert.ok(meta.includes(want), `metadata should show ${want}`);
    }
    await screenshot(page, 'session-desktop');
  });

  test('an unknown session id says so', async () => {
    await page.goto(`${d.url}/sessions/00000000-0000-4000-8000-000000000000`);
    await page.getByText('Session not found').waitFor();
  });
});
