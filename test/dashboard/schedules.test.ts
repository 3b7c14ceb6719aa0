/**
 * The schedules page in Chromium: header link, next run times, pause and resume, the create form and its errors.
 *
 * @backends embedded: the page in a browser; the API and database paths it drives are tested on both backends by the API tests.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { ManualClock } from '../../src/lib/clock.ts';
import { call } from '../helpers/app.ts';
import { screenshot, startDashboard, type Dashboard } from '../helpers/browser.ts';

let d: Dashboard;
let page: Page;
let id: string;

before(async () => {
  d = await startDashboard({ clock: new ManualClock('2030-01-07T07:00:00Z') });
  const made = await call(d.t.app, 'POST', '/api/schedules', { name: 'morning report', cron: '0 9 * * 1-5', timezone: 'Europe/Berlin', template: { prompt: 'Summarise yesterday', budget_usd: 2 } });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  id = made.body.id;
  ({ page } = await d.newPage());
});
after(async () => {
  await d?.close();
});

const row = (p: Page, name: string) => p.locator('[data-testid=schedules] tbody tr', { hasText: name });

describe('schedules page', () => {
  test('the header links to it; a schedule shows its next run times', async () => {
    await page.goto(d.url);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Schedules' }).click();
    await row(page, 'morning report').waitFor();
    assert.equal(new URL(page.url()).pathname, '/schedules');
    assert.equal(await page.title(), 'Schedules · CCO');
    const r = row(page, 'morning report');
    assert.equal(await r.getAttribute('data-schedule-id'), id);
    const times = await r.locator('[data-testid=next-runs] time').evaluateAll((els) => els.map((e) => e.getAttribute('datetime')));
    assert.deepEqual(times, ['2030-01-07T08:00:00.000Z', '2030-01-08T08:00:00.000Z', '2030-01-09T08:00:00.000Z']);
    assert.match(await r.innerText(), /0 9 \* \* 1-5[\s\S]*Europe\/Berlin/);
    assert.match(await r.innerText(), /budget \$2 per run/);
    await screenshot(page, 'schedules-desktop');
  });

  test('pause and resume', async () => {
    const r = row(page, 'morning report');
    await r.getByRole('button', { name: 'Pause' }).click();
    await r.getByRole('button', { name: 'Resume' }).waitFor();
    assert.equal(await r.getByTestId('schedule-status').innerText(), 'paused');
    assert.match(await r.getByTestId('next-runs').innerText(), /paused/);
    assert.equal((await call(d.t.app, 'GET', `/api/schedules/${id}`)).body.status, 'paused');
    await r.getByRole('button', { name: 'Resume' }).click();
    await r.getByRole('button', { name: 'Pause' }).waitFor();
    assert.equal((await call(d.t.app, 'GET', `/api/schedules/${id}`)).body.next_run_at, '2030-01-07T08:00:00.000Z');
  });

  test('the form creates a schedule; a bad cron is explained', async () => {
    const form = page.getByRole('form', { name: 'New schedule' });
    await form.getByLabel('Name').fill('nightly');
    await form.getByLabel('Cron').fill('0 2 * * 99');
    await form.getByLabel('Time zone').fill('UTC');
    await form.getByLabel('Prompt').fill('Check the dependencies');
    await form.getByRole('button', { name: 'Create schedule' }).click();
    assert.match(await form.getByRole('alert').innerText(), /Not created: body\.cron/);
    await form.getByLabel('Cron').fill('0 2 * * *');
    await form.getByLabel('Missed runs').selectOption('run_once');
    await form.getByRole('button', { name: 'Create schedule' }).click();
    await row(page, 'nightly').waitFor();
    assert.match(await row(page, 'nightly').getByTestId('next-runs').innerText(), /\S/);
    const list = (await call(d.t.app, 'GET', '/api/schedules')).body.data;
    const nightly = list.find((s: { name: string }) => s.name === 'nightly');
    assert.deepEqual([nightly.cron, nightly.timezone, nightly.missed, nightly.template.prompt, nightly.next_run_at], ['0 2 * * *', 'UTC', 'run_once', 'Check the dependencies', '2030-01-08T02:00:00.000Z']);
  });
});
