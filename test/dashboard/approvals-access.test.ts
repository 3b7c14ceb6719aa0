/**
 * Approvals in the dashboard under AUTH=keys, for people who may not decide: a viewer sees the
 * request but no Allow / Deny (and the server refuses the decision from its signed-in browser with
 * 403), a user who does not own the session sees neither the request nor the session (the server
 * answers 404, not telling it exists). The owner's view of the same request, with the buttons, is
 * the control that shows the page had rendered what the others are not given. Nothing is decided:
 * the request stays pending, as the admin's API says, and the command never runs.
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
import { call, roleKeys } from '../helpers/app.ts';
import { screenshot, signIn, startDashboard, type Dashboard } from '../helpers/browser.ts';
import { claudeTestEnv } from '../helpers/claude.ts';
import { waitFor } from '../helpers/runner.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let d: Dashboard;
let model: ModelServer;
let configDir: string;
let keys: Awaited<ReturnType<typeof roleKeys>>;
let session: { id: string; workspace: string };
let approvalId: string;

const COMMAND = 'touch owner-only.txt';

before(async () => {
  model = await startModelServer({ port: 0 });
  configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-dash-approvals-access-'));
  const env = claudeTestEnv({ baseUrl: model.url, configDir }) as Record<string, string>;
  d = await startDashboard({ auth: 'keys', runner: { passEnv: env }, approvals: { policy: { default: 'allow', rules: [] }, waitMs: 2000, timeoutS: 86_400 } });
  keys = await roleKeys(d.t.auth);
  // Alice's session; her own policy (it narrows the server's) asks before `touch`.
  const script = JSON.stringify([{ tool: 'Bash', input: { command: COMMAND, description: 'x' } }, { text: 'after' }]);
  const r = await call(d.t.app, 'POST', '/api/sessions', {
    prompt: `SCRIPT_JSON:${script}`,
    policy: { default: 'allow', rules: [{ tool: 'Bash', command: 'touch *', action: 'ask' }] },
  }, keys.alice);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const s = (await call(d.t.app, 'GET', `/api/sessions/${r.body.id}`, undefined, keys.admin)).body as Json;
  session = { id: s.id, workspace: s.project_path };
  approvalId = (await waitFor('the request to wait', async () => {
    return ((await call(d.t.app, 'GET', `/api/approvals?session_id=${s.id}&status=pending`, undefined, keys.admin)).body.data as Json[])[0];
  })).id;
});
after(async () => {
  await d?.close();
  await model?.close();
  fs.rmSync(configDir, { recursive: true, force: true });
});

const card = (p: Page) => p.getByTestId('approval').filter({ has: p.getByTestId('approval-command').getByText(COMMAND, { exact: true }) });

async function signedIn(key: string, url: string): Promise<Page> {
  const { page } = await d.newPage({ width: 1280, height: 800 });
  await page.goto(`${d.url}${url}`);
  await page.waitForURL(`${d.url}/signin?next=${encodeURIComponent(url)}`);
  await signIn(page, key);
  await page.waitForURL(`${d.url}${url}`);
  await page.locator('[data-testid=live][data-mode=live]').waitFor();
  return page;
}

/** The decision the card's Allow would send, sent from the page itself (its cookie, its origin). */
const decideFrom = (page: Page) =>
  page.evaluate(async (id) => {
    const r = await fetch(`/api/approvals/${id}/decision`, {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/json' },
      body: JSON.stringify({ decision: 'allow', via: 'dashboard' }),
    });
    return { status: r.status, body: (await r.json()) as { error?: { code?: string; message?: string } } };
  }, approvalId);

/** Still waiting, as an admin sees it, and the command did not run. */
async function stillPending(): Promise<void> {
  const a = await call(d.t.app, 'GET', `/api/approvals/${approvalId}`, undefined, keys.admin);
  assert.equal(a.status, 200);
  assert.equal(a.body.status, 'pending');
  assert.equal(a.body.decided_by, null);
  assert.equal(fs.existsSync(path.join(session.workspace, 'owner-only.txt')), false, 'the command did not run');
}

describe('approvals for those who may not decide (AUTH=keys)', () => {
  test("the session's owner is shown Allow / Deny on the request (what the others must not get)", async () => {
    const page = await signedIn(keys.alice, '/approvals');
    const c = card(page);
    await c.waitFor({ timeout: 30_000 });
    for (const name of ['Allow', 'Allow for this session', 'Deny']) assert.equal(await c.getByRole('button', { name, exact: true }).isEnabled(), true, name);
    await page.close();
    await stillPending();
  });

  test('a viewer sees the request with no control to decide; the server refuses its decision with 403', async () => {
    const page = await signedIn(keys.viewer, '/approvals');
    const c = card(page);
    await c.waitFor({ timeout: 30_000 });
    assert.equal(await c.getAttribute('data-status'), 'pending');
    assert.equal(await c.getByRole('button').count(), 0, 'no Allow / Deny');
    assert.equal(await c.getByLabel('Reason (optional)').count(), 0, 'no reason field');
    assert.match(await c.innerText(), /Waiting for the session owner, an admin/);
    await screenshot(page, 'approvals-viewer');

    // The session page's banner shows the same card, also without buttons.
    await page.goto(`${d.url}/sessions/${session.id}`);
    await page.locator('[data-testid=live][data-mode=live]').waitFor();
    const banner = page.getByTestId('approval-banner');
    await banner.waitFor({ timeout: 30_000 });
    await card(page).waitFor();
    assert.equal(await banner.getByRole('button').count(), 0, 'no Allow / Deny in the banner');
    await page.getByTestId('read-only').waitFor();

    const refused = await decideFrom(page);
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.equal(refused.body.error?.code, 'forbidden');
    // Refused by the role before the request is looked at: a viewer changes nothing.
    assert.match(refused.body.error?.message ?? '', /a viewer key may not/);
    await page.close();
    await stillPending();
  });

  test("a user who does not own the session sees neither the request nor the session; deciding is 404", async () => {
    const page = await signedIn(keys.bob, '/approvals');
    await page.getByTestId('approvals-empty').waitFor();
    assert.equal(await page.getByTestId('approval').count(), 0, "no card for alice's request");
    assert.equal(await page.getByTestId('pending-count').count(), 0, 'no pending count');

    await page.goto(`${d.url}/sessions/${session.id}`);
    await page.getByRole('heading', { name: 'Session not found' }).waitFor();
    assert.equal(await page.getByTestId('approval-banner').count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Allow' }).count(), 0);

    const refused = await decideFrom(page);
    assert.equal(refused.status, 404, JSON.stringify(refused.body));
    assert.equal(refused.body.error?.code, 'not_found');
    await page.close();
    await stillPending();
  });
});
