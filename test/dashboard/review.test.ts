/**
 * Issue 15, review, in Chromium at phone (390x844) and desktop (1280x800) sizes: the session's
 * title (listed, renamed), the turn timeline, the diff viewer (files with counts, a hunk opened
 * with colouring, a large diff paged, a binary file named, a turn's own diff) and the message box
 * of a session the orchestrator only records (it says so, and Run it takes the session over).
 * Turns are real: the runner drives Claude Code against the scripted model server in a git repo.
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
import { makeOrigin, tempRoot } from '../helpers/git-repos.ts';
import { waitIdle } from '../helpers/runner.ts';

let d: Dashboard;
let model: ModelServer;
let configDir: string;
let root: string;
let main: string;
let turnIds: number[];
let recorded: string;

const script = (steps: unknown[]) => `SCRIPT_JSON:${JSON.stringify(steps)}`;
// About 2.6 MB of text in one file (more than DIFF_MAX_BYTES, 2 MB: the diff arrives cut), 60 small
// files (more than a page of files) and a binary file; named so the big file comes last in the diff.
const MANY = Array.from({ length: 60 }, (_, i) => ({ name: 'Write', input: { file_path: `{{cwd}}/many/f${String(i).padStart(2, '0')}.txt`, content: `line ${i}\n` } }));

before(async () => {
  model = await startModelServer({ port: 0 });
  configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-dash-review-'));
  root = tempRoot('cco-dash-review-ws-');
  const env = claudeTestEnv({ baseUrl: model.url, configDir }) as Record<string, string>;
  d = await startDashboard({ runner: { passEnv: env }, workspaces: { allowedRoots: [fs.realpathSync(root)] } });
  const repo = makeOrigin(root, 'review-main').work;
  const created = await call(d.t.app, 'POST', '/api/sessions', {
    project_type: 'local',
    project_path: repo,
    prompt: `Refactor the parser\n${script([
      { tool: 'Write', input: { file_path: '{{cwd}}/src/app.ts', content: "// the parser\nexport function parse(text: string): number {\n  return text.length + 42;\n}\n" } },
      { tool: 'Bash', input: { command: "printf '\\000\\001\\002binary' > blob.bin", description: 'Write a binary file' } },
      { tools: MANY },
      { tool: 'Bash', input: { command: "seq -f 'row %g of the big file' 1 120000 > zz-big.txt", description: 'Write a big file' } },
      { text: 'Done.' },
    ])}`,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  main = created.body.id;
  await waitIdle(d.t, main, 1, 120_000);
  const second = await call(d.t.app, 'POST', `/api/sessions/${main}/messages`, {
    direction: 'user',
    content: `Use a constant\n${script([{ tool: 'Edit', input: { file_path: '{{cwd}}/src/app.ts', old_string: 'text.length + 42', new_string: 'text.length + ANSWER' } }, { text: 'Changed.' }])}`,
  });
  assert.equal(second.status, 201);
  await waitIdle(d.t, main, 2, 120_000);
  turnIds = (await call(d.t.app, 'GET', `/api/sessions/${main}/turns`)).body.data.map((t: { id: number }) => t.id);
  const folder = fs.mkdtempSync(path.join(root, 'by-hand-'));
  recorded = (await call(d.t.app, 'POST', '/api/sessions', { project_type: 'local', project_path: folder })).body.id;
  await call(d.t.app, 'POST', `/api/sessions/${recorded}/messages`, { direction: 'user', content: 'Started by hand in a terminal', source: 'cli' });
});
after(async () => {
  await d?.close();
  await model?.close();
  fs.rmSync(configDir, { recursive: true, force: true });
  fs.rmSync(root, { recursive: true, force: true });
});

const overflowX = (p: Page) => p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
const SIZES = [
  { name: 'phone', viewport: { width: 390, height: 844 }, tabs: true },
  { name: 'desktop', viewport: { width: 1280, height: 800 }, tabs: false },
];

for (const size of SIZES) {
  describe(`${size.name}, ${size.viewport.width}x${size.viewport.height}`, () => {
    test('the list shows the title; the timeline lists turns with prompt, outcome, tools and files', async () => {
      const { page } = await d.newPage(size.viewport);
      await page.goto(d.url);
      const row = page.locator(`[data-session-id="${main}"]`);
      await row.getByRole('link', { name: 'Refactor the parser' }).waitFor();
      assert.equal(await overflowX(page), 0);
      await row.getByRole('link', { name: 'Refactor the parser' }).click();
      await page.locator('.session-head h1', { hasText: 'Refactor the parser' }).waitFor();
      if (size.tabs) await page.getByRole('tab', { name: /Turns/ }).click();
      const turns = page.getByTestId('turn');
      await turns.nth(1).waitFor();
      assert.equal(await turns.count(), 2);
      const first = await turns.nth(0).innerText();
      assert.match(first, /Turn 1/);
      assert.match(first, /done/);
      assert.match(first, /Refactor the parser/);
      assert.match(first, /Bash/);
      assert.match(first, /Write/);
      assert.match(first, /63 files changed/);
      assert.match(await turns.nth(1).innerText(), /Use a constant[\s\S]*Edit[\s\S]*1 file changed · \+1 −1/);
      assert.equal(await overflowX(page), 0);
      await screenshot(page, `review-timeline-${size.name}`);
      await page.close();
    });

    test('the diff viewer lists files with counts, opens a hunk with colouring, pages a large diff and names a binary file', async () => {
      const { page } = await d.newPage(size.viewport);
      await page.goto(`${d.url}/sessions/${main}`);
      if (size.tabs) await page.getByRole('tab', { name: /Changes/ }).click();
      const changes = page.getByTestId('changes');
      await changes.getByTestId('diff-file').first().waitFor();
      assert.match(await changes.getByRole('note').innerText(), /DIFF_MAX_BYTES/, 'the 5 MB diff arrives cut, and says so');
      // 63 files, a page of 50 shown.
      assert.equal(await changes.getByTestId('diff-file').count(), 50);
      const more = changes.getByRole('button', { name: /Show 13 more files/ });
      await more.click();
      assert.equal(await changes.getByTestId('diff-file').count(), 63);

      const binary = changes.locator('[data-testid=diff-file][data-path="blob.bin"]');
      assert.match(await binary.locator('summary').innerText(), /added\s*binary/);
      await binary.locator('summary').click();
      await binary.getByText('Binary file added: not shown.').waitFor();

      const app = changes.locator('[data-testid=diff-file][data-path="src/app.ts"]');
      assert.match(await app.locator('summary').innerText(), /\+4\s*−0/);
      await app.locator('summary').click();
      await app.locator('.hunk-head').first().waitFor();
      assert.equal(await app.locator('tr.dl.add').count(), 4);
      assert.equal(await app.locator('.tok-keyword', { hasText: 'function' }).count(), 1, 'keywords are coloured');
      assert.equal(await app.locator('.tok-comment').count(), 1, 'comments are coloured');
      assert.equal(await app.locator('.tok-keyword', { hasText: 'return' }).count(), 1);

      await screenshot(page, `review-diff-${size.name}`);

      // The big file opens a page of lines at a time, without freezing the page.
      const big = changes.locator('[data-testid=diff-file][data-path="zz-big.txt"]');
      const started = Date.now();
      await big.locator('summary').click();
      await big.locator('tr.dl.add').nth(399).waitFor();
      assert.equal(await big.locator('tr.dl').count(), 400);
      await big.getByRole('button', { name: /Show more lines/ }).click();
      await big.locator('tr.dl').nth(2399).waitFor();
      assert.ok(Date.now() - started < 15_000, `paging took ${Date.now() - started} ms`);
      assert.equal(await overflowX(page), 0, 'long lines scroll inside the diff, not the page');

      // One turn's own diff: turn 2 changed src/app.ts only.
      await changes.getByLabel('Changes of').selectOption(String(turnIds[1]));
      await changes.locator('[data-testid=diff-file][data-path="src/app.ts"]').waitFor();
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=changes] [data-testid=diff-file]').length === 1);
      assert.match(await changes.locator('.diff-total').innerText(), /1 file changed · \+1 −1/);
      assert.equal(await overflowX(page), 0);
      await page.close();
    });

    test('View changes in the timeline opens that turn\'s diff; the raw metadata is folded away', async () => {
      const { page } = await d.newPage(size.viewport);
      await page.goto(`${d.url}/sessions/${main}`);
      if (size.tabs) await page.getByRole('tab', { name: /Turns/ }).click();
      await page.getByTestId('turn').nth(1).getByRole('button', { name: 'View changes' }).click();
      const changes = page.getByTestId('changes');
      await changes.locator('[data-testid=diff-file][data-path="src/app.ts"]').waitFor({ state: 'visible' });
      assert.equal(await changes.getByLabel('Changes of').inputValue({ timeout: 30_000 }), String(turnIds[1]));
      if (size.tabs) await page.getByRole('tab', { name: /Details/ }).click();
      const raw = page.getByTestId('raw-metadata');
      await raw.waitFor({ state: 'visible' });
      assert.equal(await raw.locator('pre').isVisible(), false, 'folded');
      await raw.locator('summary').click();
      assert.match(await raw.locator('pre').innerText(), /"workspace"/);
      assert.equal(await overflowX(page), 0);
      await page.close();
    });
  });
}

describe('title and record-only sessions', () => {
  test('the title is renamed in place', async () => {
    const { page } = await d.newPage({ width: 390, height: 844 });
    await page.goto(`${d.url}/sessions/${main}`);
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.getByLabel('Session title').fill('Parser: use a named constant');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('.session-head h1', { hasText: 'Parser: use a named constant' }).waitFor();
    assert.equal((await d.t.sessions.get(main)).title, 'Parser: use a named constant');
    assert.equal(await overflowX(page), 0);
    await page.close();
  });

  for (const size of SIZES) {
    test(`a recorded session's message box says a message is recorded, not run (${size.name})`, async () => {
      const { page } = await d.newPage(size.viewport);
      await page.goto(`${d.url}/sessions/${recorded}`);
      const note = page.getByTestId('record-only-note');
      await note.waitFor();
      assert.match(await note.innerText(), /recorded in the conversation, not run/);
      assert.equal(await page.getByRole('button', { name: 'Run it' }).count(), 1);
      await page.locator('.session-head h1', { hasText: 'Started by hand in a terminal' }).waitFor();
      if (size.tabs) await page.getByRole('tab', { name: /Turns/ }).click();
      assert.match(await page.getByTestId('timeline-empty').innerText(), /recorded, not run/);
      assert.equal(await overflowX(page), 0);
      await screenshot(page, `review-record-only-${size.name}`);
      await page.close();
    });
  }

  test('Send records; Run it takes the session over and runs the message', { timeout: 120_000 }, async () => {
    const { page } = await d.newPage();
    await page.goto(`${d.url}/sessions/${recorded}`);
    await page.getByTestId('record-only-note').waitFor();
    await page.getByLabel('Message to Claude').fill('just a note');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByTestId('conversation').getByText('just a note').waitFor();
    assert.equal((await d.t.sessions.get(recorded)).managed, false, 'recorded, not run');
    await page.getByLabel('Message to Claude').fill('SCRIPT:text');
    await page.getByRole('button', { name: 'Run it' }).click();
    await page.getByTestId('conversation').getByText('Finished script text.').waitFor({ timeout: 90_000 });
    await page.getByTestId('record-only-note').waitFor({ state: 'detached' });
    assert.equal((await d.t.sessions.get(recorded)).managed, true);
    await page.getByTestId('turn').first().filter({ hasText: /Turn 1[\s\S]*done/ }).waitFor({ timeout: 30_000 });
    await page.close();
  });
});
