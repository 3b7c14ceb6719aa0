/**
 * The audit log page in Chromium: header link, entries newest first, load more, filters, and a readable 403.
 *
 * @backends embedded: the page in a browser; the API and database paths it drives are tested on both backends by the API tests.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { screenshot, startDashboard, type Dashboard } from '../helpers/browser.ts';
import { createSession } from '../helpers/seed.ts';

let d: Dashboard;
let page: Page;
let last: { id: string };

before(async () => {
  d = await startDashboard();
  // 55 entries: more than one page (50).
  for (let i = 0; i < 54; i++) await createSession(d.t.app, { project_path: `/srv/audit/p-${i}` });
  last = await createSession(d.t.app, { project_path: '/srv/audit/last' });
  const refused = await d.t.app.inject({ method: 'GET', url: '/api/sessions', headers: { host: 'evil.example' } });
  assert.equal(refused.statusCode, 403);
  await d.t.audit.flush();
  ({ page } = await d.newPage());
});
after(async () => {
  await d?.close();
});

const rows = (p: Page) => p.locator('[data-testid=audit] tbody tr');

describe('audit page', () => {
  test('the header links to it; entries show newest first', async () => {
    await page.goto(d.url);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click();
    await rows(page).first().waitFor();
    assert.equal(new URL(page.url()).pathname, '/audit');
    assert.equal(await page.title(), 'Audit log · CCO');
    const first = await rows(page).first().innerText();
    assert.match(first, /request\.refused/);
    assert.match(first, /anonymous/);
    assert.match(await rows(page).nth(1).innerText(), new RegExp(`session\\.created[\\s\\S]*session:${last.id}`));
    assert.equal(await rows(page).count(), 50);
    await screenshot(page, 'audit-desktop');
  });

  test('load more fetches the next page', async () => {
    await page.getByRole('button', { name: 'Load more' }).click();
    await page.getByText('End of log · 56 entries').waitFor();
    assert.equal(await rows(page).count(), 56);
  });

  test('filters by action and target; the URL keeps them', async () => {
    await page.getByLabel('Action').selectOption('request.refused');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=audit] tbody tr').length === 1);
    assert.match(page.url(), /action=request\.refused/);
    await page.getByLabel('Action').selectOption('');
    await page.getByLabel('Target').fill(`session:${last.id}`);
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=audit] tbody tr').length === 1);
    assert.match(await rows(page).first().innerText(), /session\.created/);
    await page.getByLabel('Target').fill('');
    await page.getByLabel('From').fill('2999-01-01T00:00');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('No entry matches these filters.').waitFor();
    assert.match(page.url(), /from=2999/);
  });

  // A 401 sends the whole dashboard to the sign-in page (api/client.ts), so only 403 is the page's own.
  test('a 403 from the API reads as an access message', async () => {
    const { page: p } = await d.newPage();
    await p.route('**/api/audit?*', (r) => r.fulfill({ status: 403, contentType: 'application/json', body: JSON.stringify({ error: { code: 'forbidden', message: 'forbidden' } }) }));
    await p.goto(`${d.url}/audit`);
    assert.match(await p.getByTestId('audit-access').innerText(), /for admins/);
  });
});
