/**
 * Phone (375 px) and desktop (1440 px) layouts, the keyboard, and the new-session form, in Chromium.
 *
 * @backends embedded: the page in a browser; the API and database paths it drives are tested on both backends by the API tests.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { screenshot, startDashboard, type Dashboard } from '../helpers/browser.ts';
import { createSession, postMessage, postToolHook } from '../helpers/seed.ts';

let d: Dashboard;
let s: { id: string };

before(async () => {
  d = await startDashboard();
  for (let i = 0; i < 4; i++) await createSession(d.t.app, { project_path: `/home/dev/work/a-rather-long-project-name-${i}/packages/server`, project_type: 'worktree' });
  s = await createSession(d.t.app, { project_path: '/home/dev/src/mobile-app', claude_session_id: 'claude-layout-1', metadata: { ticket: 'APP-3' } });
  await postMessage(d.t.app, s.id, 'user', 'Make the header sticky');
  await postToolHook(d.t.app, 'claude-layout-1', 'grep -rn "header" src/components/with/a/very/long/path/that/should/not/overflow.tsx', 'src/components/header.tsx:12: <header>');
  await postMessage(d.t.app, s.id, 'assistant', 'Done. The change:\n\n```css\n.header { position: sticky; top: 0; z-index: 10; box-shadow: 0 1px 0 rgba(0,0,0,.1); transition: box-shadow .2s ease-in-out; }\n```');
});
after(async () => {
  await d?.close();
});

/** No horizontal scrolling of the page itself (wide code may scroll inside its own box). */
const overflowX = (p: Page) => p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

describe('phone, 375 px', () => {
  test('the list fits the screen as cards', async () => {
    const { page } = await d.newPage({ width: 375, height: 740 });
    await page.goto(d.url);
    await page.locator('[data-testid=sessions] tbody tr').first().waitFor();
    assert.equal(await overflowX(page), 0);
    assert.equal(await page.locator('[data-testid=sessions] thead').isVisible(), false);
    const box = await page.locator('[data-testid=sessions] tbody tr').first().boundingBox();
    assert.ok(box && box.width <= 375, `row is ${box?.width} px wide`);
    await screenshot(page, 'list-phone');
    await page.close();
  });

  test('the session page shows one panel at a time, switched with tabs', async () => {
    const { page } = await d.newPage({ width: 375, height: 740 });
    await page.goto(`${d.url}/sessions/${s.id}`);
    await page.getByTestId('conversation').waitFor();
    assert.equal(await overflowX(page), 0);
    assert.equal(await page.getByTestId('tool-log').isVisible(), false);
    await screenshot(page, 'session-phone');
    await page.getByRole('tab', { name: /Tool calls/ }).click();
    await page.getByTestId('tool-log').waitFor({ state: 'visible' });
    assert.equal(await page.getByTestId('conversation').isVisible(), false);
    assert.equal(await overflowX(page), 0);
    await page.getByRole('tab', { name: /Details/ }).click();
    await page.getByTestId('metadata').waitFor({ state: 'visible' });
    assert.equal(await overflowX(page), 0);
    await page.close();
  });
});

describe('desktop, 1440 px', () => {
  test('the session page shows conversation, tools and details side by side', async () => {
    const { page } = await d.newPage({ width: 1440, height: 900 });
    await page.goto(`${d.url}/sessions/${s.id}`);
    await page.getByTestId('conversation').waitFor();
    assert.equal(await page.getByRole('tab').first().isVisible(), false);
    const conv = await page.getByTestId('conversation').boundingBox();
    const tools = await page.getByTestId('tool-log').boundingBox();
    assert.ok(conv && tools && tools.x > conv.x + conv.width, 'tool log sits right of the conversation');
    assert.equal(await overflowX(page), 0);
    await page.close();
  });
});

describe('keyboard', () => {
  test('a session opens, a tool call expands and a message sends without a mouse', async () => {
    const { page } = await d.newPage();
    await page.goto(d.url);
    await page.locator('[data-testid=sessions] tbody tr').first().waitFor();
    // Tab from the top until the first session link has focus.
    for (let i = 0; i < 15; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(() => document.activeElement?.closest('[data-testid=sessions]') !== null)) break;
    }
    const focused = await page.evaluate(() => document.activeElement?.getAttribute('href'));
    assert.equal(focused, `/sessions/${s.id}`);
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/sessions/${s.id}`);
    const summary = page.getByTestId('tool-log').locator('summary').first();
    await summary.focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('tool-log').locator('details[open]').waitFor();
    await page.getByLabel('Message to Claude').focus();
    await page.keyboard.type('sent with the keyboard');
    await page.keyboard.press('Control+Enter');
    await page.getByTestId('conversation').getByText('sent with the keyboard').waitFor();
    await page.close();
  });
});

describe('new session form', () => {
  test('starts a session for a project path and opens it', async () => {
    const { page } = await d.newPage();
    await page.goto(d.url);
    await page.getByRole('link', { name: 'New session' }).click();
    await page.getByLabel('Project path').fill('/srv/new/from-the-form');
    await page.getByLabel('Project type').selectOption('github');
    await page.getByRole('button', { name: 'Start session' }).click();
    await page.waitForURL(/\/sessions\/[0-9a-f-]{36}$/);
    const id = page.url().split('/').pop()!;
    const stored = await d.t.sessions.get(id);
    assert.equal(stored.project_path, '/srv/new/from-the-form');
    assert.equal(stored.project_type, 'github');
    assert.equal(stored.source, 'dashboard');
    await page.locator('.session-head h1', { hasText: '/srv/new/from-the-form' }).waitFor();
    await page.close();
  });

  test('an empty form and a refused request say what is wrong', async () => {
    const { page } = await d.newPage();
    await page.goto(`${d.url}/new`);
    await page.getByRole('button', { name: 'Start session' }).click();
    await page.getByRole('alert').filter({ hasText: 'Give a project path, a prompt, or both.' }).waitFor();
    await page.getByLabel('Project path').fill('x'.repeat(600)); // longer than the API accepts
    await page.getByRole('button', { name: 'Start session' }).click();
    await page.getByRole('alert').filter({ hasText: /Not created: .*project_path/ }).waitFor();
    await screenshot(page, 'new-session-error');
    await page.close();
  });
});
