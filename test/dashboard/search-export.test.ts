/**
 * Full-text search, the extra filters and the Export button of the sessions list, in Chromium (issue 16).
 *
 * @backends embedded: the page in a browser; the API and database paths it drives are tested on both backends by the API tests.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { screenshot, startDashboard, type Dashboard } from '../helpers/browser.ts';
import { createSession, postMessage, postToolHook } from '../helpers/seed.ts';

let d: Dashboard;
let page: Page;
const ids: Record<string, string> = {};

before(async () => {
  d = await startDashboard();
  const app = d.t.app;
  for (let i = 0; i < 5; i++) await createSession(app, { project_path: `/srv/filler-${i}`, source: 'cli' });
  const a = await createSession(app, { project_path: '/srv/platypus-app', claude_session_id: 'claude-dash-a', source: 'slack' });
  ids.a = a.id;
  await postMessage(app, a.id, 'user', 'Why does the platypus importer crash? Fix the platypus importer please.');
  await postMessage(app, a.id, 'assistant', 'Done: <img src=x onerror="window.__pwned=true"> the platypus importer now skips bad rows.');
  await postToolHook(app, 'claude-dash-a', 'grep -rn platypus src', 'src/import.ts:3: platypus');
  const b = await createSession(app, { project_path: '/srv/other-app', claude_session_id: 'claude-dash-b' });
  ids.b = b.id;
  await postMessage(app, b.id, 'user', 'Unrelated, but the platypus logo is blurry.');
  ({ page } = await d.newPage());
  await page.goto(d.url);
  await page.locator('[data-testid=live][data-mode=live]').waitFor();
});
after(async () => {
  await d?.close();
});

const rowIds = (p: Page) => p.locator('[data-testid=sessions] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-session-id')));

describe('sessions list: search, filters, export', () => {
  test('the search box finds sessions by message text, best first, with highlighted snippets', async () => {
    await page.getByLabel('Search').fill('platypus');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=sessions] tbody tr').length === 2);
    assert.deepEqual(await rowIds(page), [ids.a, ids.b]);
    assert.match(page.url(), /q=platypus/);
    const snippet = page.locator(`tr[data-session-id="${ids.a}"] [data-testid=snippet]`);
    const marks = await snippet.locator('mark').allInnerTexts();
    assert.ok(marks.length >= 1 && marks.every((m) => m.toLowerCase() === 'platypus'), `marks: ${marks.join(',')}`);
    await screenshot(page, 'list-search');
  });

  test('snippets are text: markup in a message is not rendered', async () => {
    await page.getByLabel('Search').fill('skips bad rows');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=sessions] tbody tr').length === 1);
    const snippet = page.locator('[data-testid=snippet]');
    assert.match(await snippet.innerText(), /skips/);
    assert.equal(await snippet.locator('img').count(), 0);
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: boolean }).__pwned), undefined);
    await page.getByLabel('Search').fill('nothing-matches-this');
    await page.waitForFunction(() => document.querySelector('p.empty')?.textContent === 'No session matches these filters.');
    await page.getByLabel('Search').fill('');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=sessions] tbody tr').length === 7);
  });

  test('source, tool and date filters', async () => {
    await page.getByRole('button', { name: 'More filters' }).click();
    await page.getByLabel('Source').fill('slack');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=sessions] tbody tr').length === 1);
    assert.deepEqual(await rowIds(page), [ids.a]);
    await page.getByLabel('Source').fill('');
    await page.getByLabel('Tool used').fill('Bash');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=sessions] tbody tr').length === 1);
    assert.deepEqual(await rowIds(page), [ids.a]);
    await page.getByLabel('Tool used').fill('');
    const today = new Date().toISOString().slice(0, 10);
    await page.getByLabel('Created to').fill('2020-01-01');
    await page.waitForFunction(() => document.querySelector('p.empty')?.textContent === 'No session matches these filters.');
    await page.getByLabel('Created to').fill(today);
    await page.getByLabel('Created from').fill(today);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=sessions] tbody tr').length === 7);
    assert.match(page.url(), new RegExp(`created_from=${today}`));
    await page.getByLabel('Created from').fill('');
    await page.getByLabel('Created to').fill('');
  });

  test('Export downloads what the filters select, in the chosen format', async () => {
    await page.getByLabel('Search').fill('platypus');
    await page.getByLabel('Source').fill('slack');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=sessions] tbody tr').length === 1);
    let [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export').click()]);
    assert.match(download.suggestedFilename(), /^cco-export-.*\.json$/);
    const doc = JSON.parse(fs.readFileSync((await download.path())!, 'utf8'));
    assert.deepEqual(doc.sessions.map((s: { id: string }) => s.id), [ids.a]);
    assert.equal(doc.sessions[0].messages.length, 2);
    assert.equal(doc.sessions[0].logs.length, 1);
    await page.getByLabel('Export format').selectOption('csv:messages');
    [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export').click()]);
    assert.match(download.suggestedFilename(), /-messages\.csv$/);
    const csv = fs.readFileSync((await download.path())!, 'utf8');
    assert.equal(csv.split('\r\n')[0], 'id,session_id,direction,source,timestamp,content,metadata');
    assert.equal((csv.match(/platypus importer/g) ?? []).length, 3);
  });
});
