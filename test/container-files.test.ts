/**
 * There is no Docker engine on the machines that test this project, so the image is checked
 * by what it names: every file it copies, script step it runs, setting it sets and port it
 * opens must exist here. The install steps themselves run in test/package/install.test.ts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { loadConfig, SETTINGS } from '../src/config.ts';

const dockerfile = fs.readFileSync('Dockerfile', 'utf8');
const compose = fs.readFileSync('docker-compose.yml', 'utf8');
const install = fs.readFileSync('scripts/container/install.sh', 'utf8');
const settings = new Set<string>(SETTINGS.map((s) => s.env));
/** Claude Code's own variables the image sets; they are read by Claude Code, not by the server. */
const CLAUDE_CODE_VARS = new Set(['CLAUDE_CONFIG_DIR']);

/** Dockerfile instructions with their continuation lines joined. */
function instructions(text: string): { op: string; args: string }[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
}

const steps = instructions(dockerfile);
const envOf = (name: string) => {
  for (const s of steps.filter((x) => x.op === 'ENV')) {
    const m = new RegExp(`(?:^|\\s)${name}=(\\S+)`).exec(s.args);
    if (m) return m[1];
  }
  return undefined;
};

test('every file the Dockerfile copies from the build context exists', () => {
  const copies = steps.filter((s) => s.op === 'COPY' && !s.args.includes('--from='));
  assert.ok(copies.length >= 2);
  for (const c of copies) {
    const parts = c.args.split(/\s+/).filter((p) => !p.startsWith('--'));
    for (const src of parts.slice(0, -1)) assert.ok(src === '.' || fs.existsSync(src), `COPY source ${src} exists`);
  }
});

test('every install.sh step the Dockerfile runs is a step of install.sh', () => {
  const known = new Set([...install.matchAll(/^ {2}([a-z]+)\)$/gm)].map((m) => m[1]));
  const used = [...dockerfile.matchAll(/install\.sh\s+([a-z]+)/g)].map((m) => m[1]!);
  assert.deepEqual(new Set(used), new Set(['build', 'system', 'package', 'user']));
  for (const u of used) assert.ok(known.has(u), `install.sh has a "${u}" step`);
});

test('every variable the Dockerfile sets is a setting of the server (or of Claude Code)', () => {
  const names = steps.filter((s) => s.op === 'ENV').flatMap((s) => [...s.args.matchAll(/([A-Z_][A-Z0-9_]*)=/g)].map((m) => m[1]!));
  assert.ok(names.length >= 4);
  for (const n of names) assert.ok(settings.has(n) || CLAUDE_CODE_VARS.has(n), `${n} is a known setting`);
});

test('the exposed port, the health check and the command match the server', () => {
  const port = envOf('PORT');
  assert.ok(port);
  assert.equal(steps.find((s) => s.op === 'EXPOSE')?.args, port);
  assert.match(steps.find((s) => s.op === 'HEALTHCHECK')!.args, /\/api\/health/);
  assert.ok(fs.readFileSync('src/http/routes/health.ts', 'utf8').includes("'/api/health'"));
  const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8')) as { bin: Record<string, string> };
  assert.equal(steps.find((s) => s.op === 'CMD')?.args, '["cco", "serve"]');
  assert.ok(pkg.bin.cco);
  assert.match(steps.find((s) => s.op === 'ENTRYPOINT')!.args, /tini/, 'an init process reaps Claude Code children');
  assert.match(install, /\btini\b/, 'install.sh installs tini');
  assert.ok(steps.some((s) => s.op === 'USER' && s.args !== 'root'), 'runs as a non-root user');
  assert.equal(envOf('DATA_DIR'), '/data');
  assert.match(steps.find((s) => s.op === 'VOLUME')!.args, /"\/data"/);
  assert.ok(envOf('WORKSPACES_DIR')!.startsWith('/data/'), 'workspaces on the volume');
});

test('docker-compose.yml: built from this folder, settings known, ports match, secrets from .env', () => {
  assert.match(compose, /^\s+build: \.$/m);
  assert.match(compose, /^\s+env_file: \.env$/m);
  assert.ok(fs.existsSync('.env.example'), '.env.example documents the env file');
  const envKeys = [...compose.matchAll(/^ {6}([A-Z_][A-Z0-9_]*):/gm)].map((m) => m[1]!).filter((k) => !k.startsWith('POSTGRES_'));
  assert.ok(envKeys.includes('DATABASE_URL'));
  for (const k of envKeys) assert.ok(settings.has(k), `${k} is a setting`);
  const port = /"127\.0\.0\.1:(\d+):(\d+)"/.exec(compose);
  assert.ok(port, 'the orchestrator publishes a port on loopback');
  assert.equal(port[2], envOf('PORT'));
  assert.doesNotMatch(compose.replace(/#.*$/gm, ''), /^\s*[A-Z_]*(API_KEY|PASSWORD|TOKEN): *[^$\s]/m, 'no secret value is written in the compose file');
  for (const key of fs.readFileSync('.env.example', 'utf8').matchAll(/^([A-Z_][A-Z0-9_]*)=/gm)) {
    assert.ok(settings.has(key[1]!) || key[1] === 'POSTGRES_PASSWORD' || key[1]!.startsWith('ANTHROPIC_'), `${key[1]} in .env.example is used`);
  }
});

/** The entries of every `ports:` list in a compose file, comments left out. */
function publishedPorts(yaml: string): string[] {
  const out: string[] = [];
  let indent = -1;
  for (const line of yaml.replace(/#.*$/gm, '').split('\n')) {
    const list = /^(\s*)ports:\s*$/.exec(line);
    if (list) {
      indent = list[1]!.length;
      continue;
    }
    if (indent < 0 || !line.trim()) continue;
    const item = /^(\s*)- "?([^"]+?)"?\s*$/.exec(line);
    if (item && item[1]!.length > indent) out.push(item[2]!);
    else indent = -1;
  }
  return out;
}

test('docker-compose.yml: METRICS_PORT comes from .env, off unless set; every published port is on loopback', () => {
  // The metrics port answers without a key: published, it must never be on all interfaces.
  const published = publishedPorts(compose);
  assert.deepEqual(published, ['127.0.0.1:3000:3000']);
  // The commented metrics mapping, as someone would uncomment it.
  const uncommented = publishedPorts(compose.replace(/^(\s*)# (- ")/gm, '$1$2'));
  assert.deepEqual(uncommented, ['127.0.0.1:3000:3000', '127.0.0.1:${METRICS_PORT}:${METRICS_PORT}']);
  assert.match(compose, /^ {6}METRICS_PORT: \$\{METRICS_PORT:-\}$/m, 'METRICS_PORT from .env, empty by default');
  assert.match(fs.readFileSync('.env.example', 'utf8'), /^METRICS_PORT=$/m, '.env.example lists METRICS_PORT');
  // Empty (the compose default) means no listener; a port from .env opens one.
  assert.equal(loadConfig({ METRICS_PORT: '' }).metrics.port, undefined);
  assert.equal(loadConfig({ METRICS_PORT: '9464' }).metrics.port, 9464);
});
