/**
 * Dashboard sign-in under AUTH=keys, in Chromium: the sign-in page, the HttpOnly cookie (and no
 * key in script-readable storage), who is signed in, sign-out, the one-time link, and a viewer
 * who is shown no control that would be refused.
 *
 * @backends embedded: the page in a browser; the API and database paths it drives are tested on both backends by the API tests.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { canChange, safeNext, type Me } from '../../web/src/features/auth/access.ts';
import { call, roleKeys } from '../helpers/app.ts';
import { screenshot, signIn, startDashboard, type Dashboard } from '../helpers/browser.ts';

let d: Dashboard;
let keys: Awaited<ReturnType<typeof roleKeys>>;
let adminSession: { id: string };
let aliceSession: { id: string };

async function create(key: string, project_path: string) {
  const r = await call(d.t.app, 'POST', '/api/sessions', { project_path, project_type: 'local' }, key);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body as { id: string };
}

before(async () => {
  d = await startDashboard({ auth: 'keys' });
  keys = await roleKeys(d.t.auth);
  adminSession = await create(keys.admin, '/srv/signin/admin-project');
  aliceSession = await create(keys.alice, '/srv/signin/alice-project');
});
after(async () => {
  await d?.close();
});

/** Everything in localStorage and sessionStorage, as one string. */
const storage = (page: Page) => page.evaluate(() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)]));
const meStatus = (page: Page) => page.evaluate(async () => (await fetch('/api/me')).status);

describe('signing in with a key', () => {
  let context: BrowserContext;
  let page: Page;
  before(async () => {
    ({ context, page } = await d.newPage());
  });

  test('a visit without a sign-in lands on the sign-in page', async () => {
    await page.goto(d.url);
    await page.waitForURL(`${d.url}/signin`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(await page.getByLabel('API key').getAttribute('type'), 'password');
    assert.equal(await page.getByTestId('live').count(), 0, 'no event stream before sign-in');
  });

  test('an unknown key is refused readably and the field is emptied', async () => {
    await signIn(page, 'cco_this-is-not-a-real-key-000000000000');
    await page.getByRole('alert').filter({ hasText: 'That key is unknown, expired or revoked' }).waitFor();
    assert.equal(await page.getByLabel('API key').inputValue(), '');
    assert.equal(page.url(), `${d.url}/signin`);
    assert.equal(await meStatus(page), 401);
    await screenshot(page, 'signin-refused');
  });

  test('an admin key signs in: name and role in the header, an HttpOnly cookie, no key in storage', async () => {
    await signIn(page, keys.admin);
    await page.waitForURL(`${d.url}/`);
    assert.equal(await page.getByTestId('whoami').innerText(), 'admin-k (admin)');
    await page.locator('[data-testid=live][data-mode=live]').waitFor();
    await page.locator(`tr[data-session-id="${aliceSession.id}"]`).waitFor();
    assert.match(await page.locator(`tr[data-session-id="${aliceSession.id}"]`).innerText(), /alice/, 'the owner is shown');
    await page.getByRole('link', { name: 'New session' }).waitFor();
    await page.getByRole('link', { name: 'Audit log' }).waitFor();

    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'cco_session');
    assert.ok(session, `cookies: ${cookies.map((c) => c.name).join(', ')}`);
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.ok(!cookies.some((c) => c.value.includes(keys.admin)), 'the key itself is no cookie');
    assert.equal(await page.evaluate(() => document.cookie.includes('cco_session')), false, 'scripts cannot read the cookie');
    const stored = await storage(page);
    assert.ok(!stored.includes(keys.admin), 'the key is not in local or session storage');
    assert.equal(stored, '[[],[]]');
    assert.equal(await meStatus(page), 200);
    await screenshot(page, 'signin-admin');
  });

  test('an admin gets the write controls of any session', async () => {
    await page.locator(`tr[data-session-id="${aliceSession.id}"] a`).click();
    await page.getByRole('button', { name: 'Close' }).waitFor();
    await page.getByLabel('Message to Claude').waitFor();
  });

  test('sign out returns to the sign-in page and the cookie no longer works', async () => {
    const cookie = (await context.cookies()).find((c) => c.name === 'cco_session');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${d.url}/signin`);
    assert.equal(await meStatus(page), 401);
    assert.equal((await context.cookies()).some((c) => c.name === 'cco_session'), false);
    // The old cookie value is ended on the server, not only dropped by the browser.
    const replay = await d.t.app.inject({ method: 'GET', url: '/api/me', headers: { cookie: `cco_session=${cookie?.value}` } });
    assert.equal(replay.statusCode, 401);
  });
});

describe('a viewer', () => {
  test('is returned to the page it asked for, sees the sessions and no control that would fail', async () => {
    const { page } = await d.newPage();
    await page.goto(`${d.url}/sessions/${adminSession.id}`);
    await page.waitForURL(`${d.url}/signin?next=${encodeURIComponent(`/sessions/${adminSession.id}`)}`);
    await signIn(page, keys.viewer);
    await page.waitForURL(`${d.url}/sessions/${adminSession.id}`);
    assert.equal(await page.getByTestId('whoami').innerText(), 'viewer-k (viewer)');
    await page.getByRole('heading', { name: '/srv/signin/admin-project' }).waitFor();
    await page.getByTestId('read-only').waitFor();
    assert.equal(await page.getByRole('group', { name: 'Session actions' }).count(), 0);
    for (const name of ['Pause', 'Resume', 'Close', 'Send']) assert.equal(await page.getByRole('button', { name }).count(), 0, `no ${name} button`);
    assert.equal(await page.getByLabel('Message to Claude').count(), 0, 'no message box');
    assert.match(await page.getByTestId('metadata').innerText(), /Owner\s+admin-k/);

    await page.getByRole('link', { name: 'Sessions' }).click();
    await page.locator('[data-testid=sessions] tbody tr').nth(1).waitFor();
    assert.equal(await page.locator('[data-testid=sessions] tbody tr').count(), 2, 'a viewer reads every session');
    assert.equal(await page.getByRole('link', { name: 'New session' }).count(), 0);
    assert.equal(await page.getByRole('link', { name: 'Audit log' }).count(), 0, 'the audit log is for admins');
    await screenshot(page, 'signin-viewer');

    await page.goto(`${d.url}/new`);
    await page.getByText('you can read sessions but not start them').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Start session' }).count(), 0);
  });
});

describe('a user', () => {
  test('sees its own sessions with their controls (on a phone: the top bar fits)', async () => {
    const { page } = await d.newPage({ width: 375, height: 740 });
    await page.goto(`${d.url}/signin`);
    await signIn(page, keys.alice);
    await page.waitForURL(`${d.url}/`);
    assert.equal(await page.getByTestId('whoami').innerText(), 'alice (user)');
    await page.locator('[data-testid=live][data-mode=live]').waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth), 0);
    await screenshot(page, 'signin-user-phone');
    await page.locator(`tr[data-session-id="${aliceSession.id}"]`).waitFor();
    assert.equal(await page.locator('[data-testid=sessions] tbody tr').count(), 1);
    await page.getByRole('link', { name: 'New session' }).waitFor();
    await page.locator(`tr[data-session-id="${aliceSession.id}"] a`).click();
    await page.getByRole('button', { name: 'Close' }).waitFor();
  });

  test('controls are hidden on a session another user owns', () => {
    const alice: Me = { name: 'alice', role: 'user', owner: 'alice', auth: 'keys' };
    assert.equal(canChange(alice, { owner: 'alice' }), true);
    assert.equal(canChange(alice, { owner: 'bob' }), false);
    assert.equal(canChange(alice, { owner: null }), false);
    assert.equal(canChange({ ...alice, role: 'viewer' }, { owner: 'alice' }), false);
    assert.equal(canChange({ ...alice, role: 'admin' }, { owner: 'bob' }), true);
  });
});

describe('the one-time sign-in link', () => {
  test('signs in once; a second use lands on the sign-in page saying the link is spent', async () => {
    const { info } = await d.t.auth.createKey({ name: 'first-admin', role: 'admin' });
    const link = `${d.url}/api/auth/link?code=${await d.t.auth.createSignInCode(info.id)}`;
    const first = await d.newPage();
    await first.page.goto(link);
    await first.page.waitForURL(`${d.url}/`);
    assert.equal(await first.page.getByTestId('whoami').innerText(), 'first-admin (admin)');

    const second = await d.newPage();
    await second.page.goto(link);
    await second.page.waitForURL(`${d.url}/signin?error=link_expired`);
    await second.page.getByRole('alert').filter({ hasText: 'link was already used or has expired' }).waitFor();
    assert.equal(await meStatus(second.page), 401);
  });
});

test('after sign-in only paths on this site are followed', () => {
  assert.equal(safeNext('/sessions/abc?x=1'), '/sessions/abc?x=1');
  for (const bad of [null, '', 'https://evil.example/', '//evil.example/', '/\\evil.example', '/signin?next=/']) assert.equal(safeNext(bad), '/', String(bad));
});
