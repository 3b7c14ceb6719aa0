/**
 * Issue 15 in the dashboard: a real turn (the Claude Code binary on the scripted model) stops at
 * a Bash call its session policy asks about; the inbox and the session page show the exact
 * command, a click on Allow lets it run (the file appears in the workspace), the card says who
 * decided; a second person deciding a moment later is told who was first (the 409's details).
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
import { call } from '../helpers/app.ts';
import { screenshot, startDashboard, type Dashboard } from '../helpers/browser.ts';
import { claudeTestEnv } from '../helpers/claude.ts';
import { waitFor } from '../helpers/runner.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let d: Dashboard;
let model: ModelServer;
let configDir: string;

before(async () => {
  model = await startModelServer({ port: 0 });
  configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-dash-approvals-'));
  const env = claudeTestEnv({ baseUrl: model.url, configDir }) as Record<string, string>;
  // The gate holds a call 2 s, then parks it and ends the turn: decisions here come after that.
  d = await startDashboard({ runner: { passEnv: env }, approvals: { policy: { default: 'allow', rules: [] }, waitMs: 2000, timeoutS: 86_400 } });
});
after(async () => {
  await d?.close();
  await model?.close();
  fs.rmSync(configDir, { recursive: true, force: true });
});

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };
const overflowX = (p: Page) => p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

/** A session whose policy (given as admin: it replaces the server's) asks before `touch`; its turn runs `command`, then says "after" (a continuation turn ends otherwise). */
async function askingSession(command: string): Promise<{ id: string; workspace: string }> {
  const script = JSON.stringify([{ tool: 'Bash', input: { command, description: 'x' } }, { text: 'after' }]);
  const r = await call(d.t.app, 'POST', '/api/sessions', {
    prompt: `SCRIPT_JSON:${script}`,
    policy: { default: 'allow', rules: [{ tool: 'Bash', command: 'touch *', action: 'ask' }] },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const s = (await call(d.t.app, 'GET', `/api/sessions/${r.body.id}`)).body as Json;
  return { id: s.id, workspace: s.project_path };
}

/** The turn stopped waiting and ended (interrupted): a decision now continues the session with a new turn. */
async function parked(id: string): Promise<void> {
  await waitFor('the turn to stop for approval', async () => {
    const turns = (await call(d.t.app, 'GET', `/api/sessions/${id}/turns`)).body.data as Json[];
    return turns[0]?.status === 'interrupted';
  });
}

const card = (p: Page, command: string) => p.getByTestId('approval').filter({ has: p.getByTestId('approval-command').getByText(command, { exact: true }) });

describe('approvals in the dashboard', () => {
  test('phone: the inbox shows the exact command; Allow runs it, the card says who decided, the session continues', async () => {
    const s = await askingSession('touch ui.txt');
    const { page } = await d.newPage(PHONE);
    await page.goto(`${d.url}/approvals`);
    await page.locator('[data-testid=live][data-mode=live]').waitFor();
    const c = card(page, 'touch ui.txt');
    await c.waitFor({ timeout: 30_000 });
    assert.equal(await c.getByTestId('approval-command').innerText(), 'touch ui.txt');
    assert.match(await c.innerText(), /Bash · command "touch \*"/);
    assert.equal(await c.getByRole('link').getAttribute('href'), `/sessions/${s.id}`);
    assert.equal(await page.getByTestId('pending-count').innerText(), '1');
    assert.equal(await overflowX(page), 0, 'no horizontal scrolling on a phone');
    await screenshot(page, 'approvals-inbox-phone');

    await parked(s.id);
    assert.equal(fs.existsSync(path.join(s.workspace, 'ui.txt')), false, 'nothing ran before the decision');
    await c.getByRole('button', { name: 'Allow', exact: true }).click();
    const outcome = c.getByTestId('approval-outcome');
    await outcome.waitFor();
    const stored = ((await call(d.t.app, 'GET', `/api/approvals?session_id=${s.id}`)).body.data as Json[])[0]!;
    assert.equal(stored.status, 'allowed');
    assert.equal(stored.decided_via, 'dashboard');
    assert.match(await outcome.innerText(), new RegExp(`^Allowed by ${stored.decided_by} via dashboard at `));
    assert.equal(await c.getByRole('button').count(), 0, 'no buttons once decided');
    await page.getByTestId('pending-count').waitFor({ state: 'detached' });
    await waitFor('the allowed command to run', async () => fs.existsSync(path.join(s.workspace, 'ui.txt')));
    assert.equal(await overflowX(page), 0);
    await screenshot(page, 'approvals-decided-phone');

    // The session page: the continuation message is marked, the answer follows it.
    await c.getByRole('link').click();
    await page.waitForURL(`**/sessions/${s.id}`);
    const conversation = page.getByTestId('conversation');
    const continuation = conversation.locator('.message.user', { has: page.getByTestId('approval-tag').filter({ hasText: 'approval allowed' }) });
    await continuation.waitFor({ timeout: 30_000 });
    assert.match(await continuation.innerText(), /allowed your Bash call/);
    await conversation.locator('.message.system', { hasText: 'Turn stopped: a tool call waits for a person' }).waitFor();
    await conversation.locator('.message.assistant', { hasText: 'Finished the approved call.' }).waitFor({ timeout: 30_000 });
    assert.equal(await overflowX(page), 0);
    await page.close();
  });

  test('desktop: the session page banner; the second of two people deciding sees who was first', async () => {
    const s = await askingSession('touch second.txt');
    const { page: sessionPage } = await d.newPage(DESKTOP);
    await sessionPage.goto(`${d.url}/sessions/${s.id}`);
    await sessionPage.locator('[data-testid=live][data-mode=live]').waitFor();
    const banner = sessionPage.getByTestId('approval-banner');
    await banner.waitFor({ timeout: 30_000 });
    const late = card(sessionPage, 'touch second.txt');
    await late.waitFor();
    assert.match(await banner.innerText(), /Waiting for approval \(1\)/);
    await sessionPage.locator('.session-head [data-testid=approval-waiting]', { hasText: '1 awaiting approval' }).waitFor();
    // The policy, folded in the details.
    const policy = sessionPage.getByTestId('policy');
    assert.match(await policy.locator('summary').innerText(), /replaces the server policy · default allow · 1 rule/);
    await policy.locator('summary').click();
    assert.match(await policy.innerText(), /Bash · command "touch \*" → ask/);
    assert.equal(await overflowX(sessionPage), 0);
    await screenshot(sessionPage, 'approvals-banner-desktop');

    const { page: inbox } = await d.newPage(DESKTOP);
    await inbox.goto(`${d.url}/approvals`);
    await inbox.locator('[data-testid=live][data-mode=live]').waitFor();
    const first = card(inbox, 'touch second.txt');
    await first.waitFor();
    assert.equal(await overflowX(inbox), 0);
    await parked(s.id);

    // Two people at once: the session page's Allow reaches the server only after the inbox's Deny was stored.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    await sessionPage.route('**/api/approvals/*/decision', async (route) => {
      await held;
      await route.continue();
    });
    await late.getByRole('button', { name: 'Allow', exact: true }).click();
    await first.getByLabel('Reason (optional)').fill('not in this repository');
    await first.getByRole('button', { name: 'Deny' }).click();
    const denied = first.getByTestId('approval-outcome');
    await denied.waitFor();
    const stored = ((await call(d.t.app, 'GET', `/api/approvals?session_id=${s.id}`)).body.data as Json[])[0]!;
    assert.equal(stored.status, 'denied');
    assert.match(await denied.innerText(), new RegExp(`^Denied by ${stored.decided_by} via dashboard at .* · reason: not in this repository$`));
    release();
    const conflict = late.getByTestId('already-decided');
    await conflict.waitFor();
    assert.match(await conflict.innerText(), new RegExp(`already denied by ${stored.decided_by} at .* via dashboard\\. Your decision was not applied\\.`));
    assert.equal(await late.getByRole('button').count(), 0);
    await sessionPage.locator('.session-head [data-testid=approval-waiting]').waitFor({ state: 'detached' });
    assert.equal(await overflowX(sessionPage), 0);
    await screenshot(sessionPage, 'approvals-already-decided');

    // The refusal reaches the model in a continuation turn; nothing ran.
    await sessionPage.getByTestId('conversation').getByTestId('approval-tag').filter({ hasText: 'approval denied' }).waitFor({ timeout: 30_000 });
    assert.equal(fs.existsSync(path.join(s.workspace, 'second.txt')), false);
    await inbox.goto(`${d.url}/approvals?tab=decided`);
    await card(inbox, 'touch second.txt').getByTestId('approval-outcome').waitFor();
    assert.equal(await inbox.getByTestId('approval').count(), 2, 'both decided requests listed');
    assert.equal(await overflowX(inbox), 0);
  });
  test('a long non-Bash input is pretty JSON, folded; Allow for this session lets the call run', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-dash-approvals-ws-'));
    const file = path.join(dir, 'notes.md');
    const content = Array.from({ length: 40 }, (_, i) => `line ${i + 1}: the approval inbox folds long inputs`).join('\n');
    const script = JSON.stringify([{ tool: 'Write', input: { file_path: file, content } }, { text: 'after' }]);
    const r = await call(d.t.app, 'POST', '/api/sessions', {
      prompt: `SCRIPT_JSON:${script}`, project_path: dir, project_type: 'local',
      policy: { default: 'allow', rules: [{ tool: 'Write', action: 'ask' }] },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const { page } = await d.newPage(DESKTOP);
    await page.goto(`${d.url}/approvals`);
    await page.locator('[data-testid=live][data-mode=live]').waitFor();
    const c = page.locator(`[data-testid=approval][data-status=pending]`).filter({ hasText: 'Write' });
    await c.waitFor({ timeout: 30_000 });
    const fold = c.locator('details.approval-fold');
    assert.match(await fold.locator('summary').innerText(), /^Input · 4 lines, \d+ characters$/);
    assert.equal(await c.getByTestId('approval-json').isVisible(), false, 'folded until opened');
    await fold.locator('summary').click();
    const shown = JSON.parse(await c.getByTestId('approval-json').innerText()) as Json;
    assert.deepEqual(shown, { file_path: file, content }, 'the exact input');
    assert.match(await c.innerText(), /Rule\s+Write asks/);
    assert.equal(await overflowX(page), 0);
    await parked(r.body.id);
    await c.getByRole('button', { name: 'Allow for this session' }).click();
    const outcome = page.locator(`[data-approval-id] [data-testid=approval-outcome]`).filter({ hasText: 'for the rest of the session' });
    await outcome.waitFor();
    assert.match(await outcome.innerText(), /^Allowed by \S+ via dashboard at .* · for the rest of the session$/);
    const stored = ((await call(d.t.app, 'GET', `/api/approvals?session_id=${r.body.id}`)).body.data as Json[])[0]!;
    assert.equal(stored.scope, 'session');
    await waitFor('the allowed write', async () => fs.existsSync(file) && fs.readFileSync(file, 'utf8') === content);
    await screenshot(page, 'approvals-folded-json');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
