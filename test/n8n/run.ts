/**
 * `npm run test:n8n` (issue 14): the shipped n8n workflows and the community node, on real n8n.
 *
 *  1. n8n 2.41.x (Node 24) from the npm registry, cached in ~/.cache/cco-n8n/<version>;
 *  2. the node package linted with n8n's node CLI (verified-node rules), built and packed;
 *  3. a real `cco serve` (API keys on, the scripted model server: a plain prompt answers "Done: <prompt>");
 *  4. a fresh n8n user folder: the tarball installed as a community package, the credentials and every
 *     workflow in n8n/workflows imported and published (plus a copy of the Session Initializer with a bad key);
 *  5. `n8n start`, then the checks in scenarios.ts, each reported with its time; exit 1 if any failed.
 *
 *   npm run test:n8n [-- --keep] [-- --screenshots]
 *     --keep         leaves the temp folders for a look
 *     --screenshots  starts n8n with its editor and saves a picture of each workflow in docs/n8n/
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeOrigin, tempRoot } from '../helpers/git-repos.ts';
import { serverFixture, startServeProcess, type ServeProcess } from '../helpers/serve.ts';
import { check, elapsed, log, results, until, http } from './harness.ts';
import { buildNodePackage, ensureN8n, installIntoUserFolder, N8N_VERSION } from './install.ts';
import { freePort, N8n } from './n8n.ts';
import { runScenarios, WORKFLOWS } from './scenarios.ts';
import { captureWorkflows } from './screenshots.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORKFLOW_DIR = path.join(ROOT, 'n8n', 'workflows');
const KEEP = process.argv.includes('--keep');
const SCREENSHOTS = process.argv.includes('--screenshots');
const SLACK_SECRET = randomBytes(16).toString('hex');
const timings: [string, number][] = [];
const timed = async <T>(name: string, f: () => T | Promise<T>): Promise<T> => {
  const t = Date.now();
  const v = await f();
  timings.push([name, (Date.now() - t) / 1000]);
  return v;
};

if (Number(process.versions.node.split('.')[0]) < 24) {
  console.error(`n8n ${N8N_VERSION} needs Node.js 24 (this is ${process.version}): run \`. scripts/node24.sh\` first.`);
  process.exit(2);
}

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-n8n-run-'));
let server: ServeProcess | undefined;
let fixture: Awaited<ReturnType<typeof serverFixture>> | undefined;
let n8n: N8n | undefined;
let repoRoot: string | undefined;
let failed = false;
try {
  const install = await timed('n8n install (cache)', () => ensureN8n(log));
  log(`n8n ${N8N_VERSION}: ${install.cached ? 'cached' : 'installed'} in ${install.seconds.toFixed(1)} s (${install.dir})`);
  const pkg = await timed('node package: npm ci + lint + build + pack', () => buildNodePackage(scratch, log));
  log(`node package: install ${pkg.seconds.install.toFixed(1)} s, lint ${pkg.seconds.lint.toFixed(1)} s, build ${pkg.seconds.build.toFixed(1)} s, pack ${pkg.seconds.pack.toFixed(1)} s`);

  // The orchestrator (its compiled dist/, brought up to date), with keys on, allowed to deliver webhooks to n8n on loopback.
  const built = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs'), '--if-stale'], { cwd: ROOT, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`build: ${built.stdout}${built.stderr}`);
  repoRoot = tempRoot('cco-n8n-repos-');
  const origin = makeOrigin(repoRoot);
  fixture = await serverFixture('cco-n8n-', { AUTH: 'keys', ALLOWED_ROOTS: repoRoot, WEBHOOK_ALLOW_PRIVATE_HOSTS: '127.0.0.1' });
  server = await timed('cco serve start', () => startServeProcess(fixture!.env));
  const made = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'cco.mjs'), 'keys', 'create', '--name', 'n8n', '--role', 'admin'], { env: { ...process.env, ...fixture.env }, encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`cco keys create: ${made.stderr}`);
  const key = made.stdout.trimEnd().split('\n').at(-1)!;
  log(`orchestrator at ${server.url}, key ${key.slice(0, 12)}…`);

  // n8n: user folder with the packed node installed, credentials and workflows imported and published.
  const userFolder = path.join(scratch, 'n8n-user');
  installIntoUserFolder(pkg.tarball, userFolder, install.nodeModules);
  n8n = new N8n(install.bin, userFolder, await freePort(), { brokerPort: await freePort(), ui: SCREENSHOTS });
  const credentials = [
    { id: 'ccoApiCredent001', name: 'Claude Code Orchestrator', type: 'claudeCodeOrchestratorApi', data: { baseUrl: server.url, apiKey: key } },
    { id: 'ccoApiBadKey0001', name: 'Claude Code Orchestrator (bad key)', type: 'claudeCodeOrchestratorApi', data: { baseUrl: server.url, apiKey: `cco_${'0'.repeat(36)}` } },
    { id: 'slackApiCrede001', name: 'Slack', type: 'slackApi', data: { accessToken: 'xoxb-test-not-real', signatureSecret: SLACK_SECRET } },
  ];
  fs.writeFileSync(path.join(scratch, 'credentials.json'), JSON.stringify(credentials));
  const wfDir = path.join(scratch, 'workflows');
  fs.mkdirSync(wfDir);
  const shipped = fs.readdirSync(WORKFLOW_DIR).filter((f) => f.endsWith('.json'));
  for (const f of shipped) fs.copyFileSync(path.join(WORKFLOW_DIR, f), path.join(wfDir, f));
  // The bad-key case runs the shipped Session Initializer itself, on its own path, with the bad credential.
  const bad = JSON.parse(fs.readFileSync(path.join(WORKFLOW_DIR, 'session-initializer.json'), 'utf8'));
  bad.id = WORKFLOWS.initializerBadKey;
  bad.name += ' (bad key, test only)';
  for (const node of bad.nodes) {
    if (node.type === 'n8n-nodes-base.webhook') Object.assign(node, { webhookId: 'b0b0b0b0-0000-4000-8000-000000000001', parameters: { ...node.parameters, path: 'cco/session-bad-key' } });
    if (node.credentials?.claudeCodeOrchestratorApi) node.credentials.claudeCodeOrchestratorApi = { id: 'ccoApiBadKey0001', name: 'Claude Code Orchestrator (bad key)' };
  }
  fs.writeFileSync(path.join(wfDir, 'zz-bad-key.json'), JSON.stringify(bad));
  const ids = [...shipped.map((f) => JSON.parse(fs.readFileSync(path.join(WORKFLOW_DIR, f), 'utf8')).id as string), bad.id as string];
  await timed('n8n import:credentials', () => n8n!.cli('import:credentials', `--input=${path.join(scratch, 'credentials.json')}`));
  await timed(`n8n import:workflow (${ids.length})`, () => n8n!.cli('import:workflow', '--separate', `--input=${wfDir}`));
  await timed(`n8n publish:workflow ×${ids.length}`, () => {
    for (const id of ids) n8n!.cli('publish:workflow', `--id=${id}`);
  });
  const byFile = (f: string) => JSON.parse(fs.readFileSync(path.join(WORKFLOW_DIR, f), 'utf8')) as { nodes: { type: string; webhookId?: string }[] };
  const slackWebhookId = byFile('slack-message-handler.json').nodes.find((n) => n.type === 'n8n-nodes-base.slackTrigger')!.webhookId!;
  const triggerWebhookId = byFile('on-completion.json').nodes.find((n) => n.type.endsWith('.claudeCodeOrchestratorTrigger'))!.webhookId!;

  n8n.start();
  // Ready when every workflow is active, not when the first webhook answers: while it starts, n8n
  // answers 200 "n8n is starting up" and activates the workflows one after the other. Probes
  // without side effects: an empty body (the validation branch), an unsigned Slack event (refused),
  // and the On Completion trigger's subscription, made through the orchestrator's API on activation.
  const registered = (r: Awaited<ReturnType<typeof http>> | undefined) => r !== undefined && r.status !== 404 && !/starting up/i.test(r.text);
  const triggerUrl = `${n8n.url}/webhook/${triggerWebhookId}/webhook`;
  await timed('n8n start → every workflow active', () => until('n8n workflows active', async () => {
    if (!n8n!.alive()) throw new Error(`n8n exited:\n${n8n!.output().slice(-3000)}`);
    const session = await http('POST', `${n8n!.url}/webhook/cco/session`, { body: {} }).catch(() => undefined);
    const badKey = await http('POST', `${n8n!.url}/webhook/cco/session-bad-key`, { body: {} }).catch(() => undefined);
    const slack = await http('POST', `${n8n!.url}/webhook/${slackWebhookId}/webhook`, { body: {} }).catch(() => undefined);
    if (!registered(session) || !registered(badKey) || !registered(slack)) return undefined;
    const hooks = await http('GET', `${server!.url}/api/webhooks`, { headers: { authorization: `Bearer ${key}` } }).catch(() => undefined);
    return (hooks?.body.data as { url: string }[] | undefined)?.some((h) => h.url === triggerUrl) ? true : undefined;
  }, 120_000, 300));
  log(`n8n at ${n8n.url}`);

  await timed('checks', () => runScenarios({ n8n: n8n!, ccoUrl: server!.url, key, slackSecret: SLACK_SECRET, slackWebhookId, triggerWebhookId, repoUrl: origin.url }));
  if (SCREENSHOTS) {
    await check('screenshots of each workflow in the n8n editor', async () => {
      const shots = shipped.map((file) => ({ file, id: JSON.parse(fs.readFileSync(path.join(WORKFLOW_DIR, file), 'utf8')).id as string }));
      const written = await timed('screenshots', () => captureWorkflows(n8n!, shots, path.join(ROOT, 'docs', 'n8n')));
      return written.map((f) => path.relative(ROOT, f)).join(', ');
    });
  }
} catch (e: unknown) {
  failed = true;
  log(`setup failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  if (n8n) log(`n8n output (tail):\n${n8n.output().slice(-4000)}`);
} finally {
  await check('n8n stops cleanly', async () => {
    const t = Date.now();
    await n8n?.stop();
    return `${((Date.now() - t) / 1000).toFixed(1)} s`;
  });
  if (server && server.child.exitCode === null && server.child.signalCode === null) {
    const exited = new Promise((r) => server!.child.once('exit', r));
    server.child.kill('SIGTERM');
    await exited;
  }
  await fixture?.cleanup();
  if (repoRoot) fs.rmSync(repoRoot, { recursive: true, force: true });
  if (KEEP) log(`kept ${scratch}`);
  else fs.rmSync(scratch, { recursive: true, force: true });
}

const bad = results.filter((r) => !r.ok);
console.log('\nTimings');
for (const [name, s] of timings) console.log(`  ${s.toFixed(1).padStart(7)} s  ${name}`);
console.log(`\nChecks: ${results.length - bad.length} passed, ${bad.length} failed`);
for (const r of results) console.log(`  ${r.ok ? 'ok  ' : 'FAIL'} ${r.seconds.toFixed(1).padStart(6)} s  ${r.name}${r.ok ? '' : `\n         ${r.detail}`}`);
console.log(`\ntest:n8n took ${elapsed().toFixed(1)} s`);
if (bad.length > 0 || failed) {
  if (n8n && bad.length > 0) console.log(`\nn8n output (tail):\n${n8n.output().slice(-4000)}`);
  process.exit(1);
}
