/**
 * The dashboard driving real sessions: the runner runs the real Claude Code
 * binary against the scripted model server, and Chromium shows it live.
 *
 * @backends embedded: the page in a browser; the API and database paths it drives are tested on both backends by the API tests.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { startModelServer, type ModelServer } from '../../src/model-server/server.ts';
import { screenshot, startDashboard, type Dashboard } from '../helpers/browser.ts';
import { claudeTestEnv } from '../helpers/claude.ts';

let d: Dashboard;
let model: ModelServer;
let configDir: string;

before(async () => {
  model = await startModelServer({ port: 0 });
  configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-dash-claude-'));
  const env = claudeTestEnv({ baseUrl: model.url, configDir }) as Record<string, string>;
  d = await startDashboard({ runner: { passEnv: env } });
});
after(async () => {
  await d?.close();
  await model?.close();
  fs.rmSync(configDir, { recursive: true, force: true });
});

const conversation = (p: Page) => p.getByTestId('conversation');
const headStatus = (p: Page) => p.locator('.session-head [data-testid=status]');

let sessionId: string;

describe('a session run by the orchestrator', () => {
  test('started from the form: the turn runs live, its tool call and Markdown answer appear', async () => {
    const { page } = await d.newPage();
    const script = [
      { tool: 'Bash', input: { command: 'echo from-the-dashboard', description: 'Say hello' }, delay_ms: 600 },
      { text: '## Result\n\nThe command printed `from-the-dashboard`.\n\n```sh\necho from-the-dashboard\n```', delay_ms: 600 },
    ];
    await page.goto(`${d.url}/new`);
    await page.locator('[data-testid=live][data-mode=live]').waitFor();
    await page.getByLabel('Prompt').fill(`SCRIPT_JSON:${JSON.stringify(script)}`);
    await page.getByLabel('Permission mode').selectOption('acceptEdits');
    await page.getByLabel('Allowed tools').fill('Bash');
    await page.getByRole('button', { name: 'Start session' }).click();
    await page.waitForURL(/\/sessions\/[0-9a-f-]{36}$/);
    sessionId = page.url().split('/').pop()!;
    // The turn is running: the page says so before the answer is in.
    await page.getByText('Claude is working…').waitFor();
    await page.getByTestId('tool-log').locator('.tool-summary', { hasText: 'echo from-the-dashboard' }).waitFor({ timeout: 30_000 });
    const answer = conversation(page).locator('.message.assistant');
    await answer.locator('pre code', { hasText: 'echo from-the-dashboard' }).waitFor({ timeout: 30_000 });
    assert.equal(await answer.locator('h4').innerText(), 'Result');
    await page.getByText('Claude is working…').waitFor({ state: 'detached', timeout: 30_000 });
    const meta = await page.getByTestId('metadata').innerText();
    assert.match(meta, /Permission mode\s+acceptEdits/);
    assert.match(meta, /Allowed tools\s+Bash/);
    assert.match(meta, /Turns\s+1/);
    assert.match(meta, /Cost\s+(\$\d+\.\d\d|<\$0\.01)/);
    const stored = await d.t.sessions.get(sessionId);
    assert.ok(stored.claude_session_id, 'Claude Code reported its session id');
    assert.ok(meta.includes(stored.claude_session_id!));
    await screenshot(page, 'runner-session');
    await page.close();
  });

  test('a message sent from the page continues the session and the answer appears', async () => {
    const { page } = await d.newPage();
    await page.goto(`${d.url}/sessions/${sessionId}`);
    await page.locator('[data-testid=live][data-mode=live]').waitFor();
    await conversation(page).waitFor();
    await page.getByLabel('Message to Claude').fill('What did the command print?');
    await page.getByRole('button', { name: 'Send' }).click();
    await conversation(page).locator('.message.user', { hasText: 'What did the command print?' }).waitFor();
    await conversation(page).locator('.message.assistant', { hasText: 'Done: What did the command print?' }).waitFor({ timeout: 30_000 });
    await page.getByText('Claude is working…').waitFor({ state: 'detached', timeout: 30_000 });
    assert.match(await page.getByTestId('metadata').innerText(), /Turns\s+2/);
    await page.close();
  });

  test('pause interrupts a running turn and holds new messages; resume runs them', async () => {
    const { page } = await d.newPage();
    const list = (await d.newPage()).page;
    await page.goto(`${d.url}/sessions/${sessionId}`);
    await page.locator('[data-testid=live][data-mode=live]').waitFor();
    await list.goto(d.url);
    await list.locator(`tr[data-session-id="${sessionId}"]`).waitFor();
    // A turn whose tool waits ten minutes.
    await page.getByLabel('Message to Claude').fill('SCRIPT:sleep');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByTestId('tool-log').locator('li').nth(0).waitFor();
    await page.getByText('Claude is working…').waitFor();
    // The list, open in another tab, shows the turn running.
    await list.locator(`tr[data-session-id="${sessionId}"] [data-testid=turn-state]`, { hasText: 'running' }).waitFor();
    await screenshot(list, 'runner-list-running');
    await waitForModelReply('sleep#0');

    await page.getByRole('button', { name: 'Pause' }).click();
    await headStatus(page).filter({ hasText: 'paused' }).waitFor();
    await page.getByText('Claude is working…').waitFor({ state: 'detached', timeout: 15_000 });
    await conversation(page).locator('.message.system').last().waitFor();
    assert.match(await conversation(page).locator('.message.system').last().innerText(), /interrupt|paus/i);

    // While paused, a message waits.
    await page.getByLabel('Message to Claude').fill('carry on after the pause');
    await page.getByRole('button', { name: 'Send' }).click();
    await conversation(page).locator('.message.user', { hasText: 'carry on after the pause' }).waitFor();
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await conversation(page).locator('.message.assistant', { hasText: 'Done: carry on after the pause' }).count(), 0, 'held while paused');

    await page.getByRole('button', { name: 'Resume' }).click();
    await headStatus(page).filter({ hasText: 'active' }).waitFor();
    await conversation(page).locator('.message.assistant', { hasText: 'Done: carry on after the pause' }).waitFor({ timeout: 30_000 });
    await list.locator(`tr[data-session-id="${sessionId}"] [data-testid=turn-state]`).waitFor({ state: 'detached', timeout: 30_000 });
    await screenshot(page, 'runner-after-resume');
    await list.close();
    await page.close();
  });
});

async function waitForModelReply(reply: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!model.requests.some((r) => r.reply === reply)) {
    if (Date.now() > deadline) throw new Error(`the model server never answered ${reply}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 800)); // let the tool start
}
