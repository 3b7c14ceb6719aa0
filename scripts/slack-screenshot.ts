/**
 * docs/slack-thread.png: a real thread (the server, Bolt, the scripted model, Claude Code) as
 * the Slack stand-in renders it, for the README. `node --import tsx scripts/slack-screenshot.ts`
 * (needs Chromium: apt-get install -y chromium). Also prints the thread as text.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM } from '../test/helpers/browser.ts';
import { waitFor } from '../test/helpers/runner.ts';
import { commandBody, messageEvent, sendToSlackEndpoint, slackFixture } from '../test/helpers/slack.ts';

const OUT = path.resolve('docs/slack-thread.png');
const f = await slackFixture();
try {
  const server = await f.start();
  const ch = 'C0GENERAL';
  f.standin.addUser('U0ALICE', { name: 'alice', realName: 'Alice Example' });
  await sendToSlackEndpoint(server.url, commandBody(f.standin, { text: 'SCRIPT:write-edit add a notes file', channel: ch }), { form: true });
  const head = await waitFor('head', async () => f.standin.messages(ch).find((m) => m.bot_id && (!m.thread_ts || m.thread_ts === m.ts)));
  await waitFor('turn 1', async () => f.standin.thread(ch, head.ts).some((m) => /Turn 1 done/.test(JSON.stringify(m))));
  const ev = messageEvent(f.standin, { channel: ch, user: 'U0ALICE', text: 'SCRIPT:bash now say hello', thread_ts: head.ts });
  await sendToSlackEndpoint(server.url, ev.body);
  await waitFor('turn 2', async () => f.standin.thread(ch, head.ts).some((m) => /Turn 2 done/.test(JSON.stringify(m))));
  await waitFor('status done', async () => /done · turn 2/.test(JSON.stringify(f.standin.thread(ch, head.ts)[0])));
  for (const m of f.standin.thread(ch, head.ts)) process.stdout.write(`--- ${m.user ?? m.bot_id}: ${m.text}\n`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  const page = await browser.newPage({ viewport: { width: 760, height: 900 } });
  await page.goto(`${f.standin.url}/render?channel=${ch}&ts=${head.ts}`);
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  await page.screenshot({ path: OUT, fullPage: true });
  await browser.close();
  process.stdout.write(`wrote ${OUT}\n`);
} finally {
  await f.cleanup();
}
