/**
 * A real Claude Code run (the binary the Agent SDK ships, on the scripted model
 * server) reports its tool calls to the server through http hooks; the
 * dashboard, open in Chromium, shows the run appear and its tool calls arrive
 * one by one, without a reload.
 *
 * @backends embedded: the page in a browser; the API and database paths it drives are tested on both backends by the API tests.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startModelServer, type ModelServer } from '../../src/model-server/server.ts';
import { screenshot, startDashboard, type Dashboard } from '../helpers/browser.ts';
import { claudeTestEnv, runClaudePrint } from '../helpers/claude.ts';

let d: Dashboard;
let model: ModelServer;
let tmp: string;

before(async () => {
  d = await startDashboard();
  model = await startModelServer();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-dash-run-'));
});
after(async () => {
  await d?.close();
  await model?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const STEPS = 5;

test('a running session’s tool calls appear live in the list and on its page', async () => {
  const work = path.join(tmp, 'project');
  const configDir = path.join(tmp, 'claude-config');
  fs.mkdirSync(work);
  fs.mkdirSync(configDir);
  const hook = [{ matcher: '*', hooks: [{ type: 'http', url: `${d.serverUrl}/api/hooks/tool-complete`, timeout: 10 }] }];
  const settings = path.join(tmp, 'settings.json');
  fs.writeFileSync(settings, JSON.stringify({ hooks: { PostToolUse: hook, PostToolUseFailure: hook } }));
  // One Bash call a second, then an answer: slow enough to watch the calls arrive.
  const script = [
    ...Array.from({ length: STEPS }, (_, i) => ({ tool: 'Bash', input: { command: `echo live-step-${i + 1}`, description: `Step ${i + 1}` }, delay_ms: i === 0 ? 0 : 1000 })),
    { text: 'All steps done.', delay_ms: 200 },
  ];

  const { page } = await d.newPage();
  await page.goto(d.url);
  await page.locator('[data-testid=live][data-mode=live]').waitFor();
  await page.getByText('No sessions yet.', { exact: false }).waitFor();

  const run = runClaudePrint({
    prompt: `SCRIPT_JSON:${JSON.stringify(script)}`,
    cwd: work,
    env: claudeTestEnv({ baseUrl: model.url, configDir }),
    args: ['--settings', settings, '--allowedTools', 'Bash'],
    timeoutMs: 60_000,
  });

  // The first tool call creates the session (a run started outside the orchestrator): it shows up in the list.
  const row = page.locator('[data-testid=sessions] tbody tr').first();
  await row.waitFor({ timeout: 30_000 });
  assert.match(await row.innerText(), /project/);
  await row.locator('a').click();
  const firstSeen = await page.getByTestId('tool-log').locator('li').count().catch(() => 0);
  const counts = new Set<number>();
  while ((await page.getByTestId('tool-log').locator('li').count().catch(() => 0)) < STEPS) {
    counts.add(await page.getByTestId('tool-log').locator('li').count().catch(() => 0));
    await page.waitForTimeout(100);
  }
  const result = await run;
  assert.equal(result.code, 0, result.stderr);
  const text = await page.getByTestId('tool-log').innerText();
  for (let i = 1; i <= STEPS; i++) assert.match(text, new RegExp(`echo live-step-${i}`));
  assert.ok(firstSeen < STEPS, `the page opened before the run ended (saw ${firstSeen} calls at first)`);
  assert.ok(counts.size >= 2, `calls arrived one by one: saw counts ${[...counts].join(', ')}`);
  await page.getByTestId('tool-log').locator('summary').last().click();
  assert.match(await page.getByTestId('tool-log').locator('details[open] pre').last().innerText(), /live-step-5/);
  await screenshot(page, 'claude-run-live');
});
