/**
 * The scale-out deployment (docker-compose.scale-out.yml and deploy/nginx/cco.conf) checked by what
 * it names, as test/container-files.test.ts checks the image: no Docker engine or nginx runs here.
 * Every setting it sets must be one the server knows and accepts, every file it mounts must exist,
 * and the proxy, the API processes and the runners must agree on names, ports and time limits.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { loadConfig, SETTINGS } from '../src/config.ts';
import { parseTrustProxy } from '../src/settings.ts';

const COMPOSE_FILE = 'docker-compose.scale-out.yml';
const NGINX_FILE = 'deploy/nginx/cco.conf';

interface Service {
  build?: string;
  image?: string;
  env_file?: string;
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  ports?: string[];
  restart?: string;
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
}

const composeText = fs.readFileSync(COMPOSE_FILE, 'utf8');
// merge: the file shares its service definitions through YAML anchors and << merge keys, as compose reads them.
const compose = parse(composeText, { merge: true }) as { name: string; services: Record<string, Service>; volumes: Record<string, unknown> };
const nginx = fs.readFileSync(NGINX_FILE, 'utf8').replace(/#.*$/gm, '');
const settings = new Set<string>(SETTINGS.map((s) => s.env));
const imagePort = /^\s*PORT=(\d+)/m.exec(fs.readFileSync('Dockerfile', 'utf8'))![1]!;

const services = Object.entries(compose.services);
const orchestrators = services.filter(([, s]) => s.build !== undefined);
const byRole = (role: string) => orchestrators.filter(([, s]) => s.environment?.ROLE === role).map(([name]) => name);
const apis = byRole('api');
const runners = byRole('runner');

/** Compose durations: 6m, 30s, 1m30s. */
function seconds(duration: string): number {
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
  const parts = [...duration.matchAll(/(\d+)(h|ms|m|s)/g)];
  assert.equal(parts.map((p) => p[0]).join(''), duration, `${duration} is a compose duration`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]!]!, 0);
}

/** The environment a service's process sees: the image's ENV, then .env (from .env.example), then environment. */
function processEnv(service: Service): Record<string, string> {
  const env: Record<string, string> = {};
  const dockerfile = fs.readFileSync('Dockerfile', 'utf8').replace(/\\\n/g, ' ');
  for (const line of dockerfile.split('\n').filter((l) => l.startsWith('ENV '))) {
    for (const m of line.matchAll(/([A-Z_][A-Z0-9_]*)=(\S+)/g)) env[m[1]!] = m[2]!;
  }
  for (const m of fs.readFileSync('.env.example', 'utf8').matchAll(/^([A-Z_][A-Z0-9_]*)=(.*)$/gm)) env[m[1]!] = m[2]!;
  for (const [k, v] of Object.entries(service.environment ?? {})) env[k] = String(v).replace(/\$\{POSTGRES_PASSWORD[^}]*\}/g, 'change-me');
  return env;
}

test('scale-out compose: its own project, PostgreSQL, two API processes, two runners and a proxy', () => {
  assert.ok(compose.name && compose.name !== 'claude-code-orchestrator', 'a project name of its own (not the folder name docker-compose.yml gets)');
  assert.ok(compose.services.postgres?.image?.startsWith('postgres:'));
  assert.ok(apis.length >= 2, `two API processes (${apis.join(', ')})`);
  assert.ok(runners.length >= 2, `two runners (${runners.join(', ')})`);
  assert.equal(apis.length + runners.length, orchestrators.length, 'every orchestrator process says its ROLE');
  assert.match(compose.services.proxy?.image ?? '', /^nginx:/);
});

test('scale-out compose: every process built from this folder, secrets from .env, settings known and valid', () => {
  assert.doesNotMatch(composeText.replace(/#.*$/gm, ''), /^\s*[A-Z_]*(API_KEY|PASSWORD|TOKEN|SECRET): *[^$\s]/m, 'no secret value is written in the compose file');
  for (const [name, s] of orchestrators) {
    assert.equal(s.build, '.', `${name} is built by the Dockerfile here`);
    assert.equal(s.env_file, '.env', `${name} takes secrets from .env`);
    assert.equal(s.depends_on?.postgres?.condition, 'service_healthy', `${name} waits for PostgreSQL`);
    assert.match(s.environment?.DATABASE_URL ?? '', /^postgres:\/\/cco:\$\{POSTGRES_PASSWORD\}@postgres:5432\/cco$/, `${name}: api and runner need DATABASE_URL, to the postgres service`);
    for (const k of Object.keys(s.environment ?? {})) assert.ok(settings.has(k), `${name}: ${k} is a setting`);
    // What the server would do with this environment: an unknown ROLE or a bad number stops it at start.
    assert.doesNotThrow(() => loadConfig(processEnv(s)), `${name}: the server accepts its settings`);
  }
});

test('scale-out compose: every process has a health check, a restart policy and the shared volume', () => {
  for (const [name, s] of services) {
    assert.ok(s.restart === 'unless-stopped' || s.restart === 'always', `${name} restarts`);
    assert.ok(s.healthcheck?.test.length, `${name} has a health check`);
  }
  const health = fs.readFileSync('src/http/routes/health.ts', 'utf8');
  for (const name of apis) {
    assert.ok(compose.services[name]!.healthcheck!.test.join(' ').includes(`http://127.0.0.1:${imagePort}/api/health`), `${name} checks /api/health on PORT`);
  }
  assert.ok(health.includes("'/api/health'"));
  for (const name of runners) {
    assert.ok(compose.services[name]!.healthcheck!.test.join(' ').includes(`http://127.0.0.1:${imagePort}/health`), `${name} checks the runner's /health on PORT`);
  }
  const mounts = orchestrators.map(([, s]) => s.volumes ?? []);
  const shared = mounts[0]!.find((v) => v.endsWith(':/data'));
  assert.ok(shared, 'the volume is mounted at /data, which the image prepares for its user');
  assert.ok(shared.split(':')[0]! in compose.volumes, 'a named volume');
  for (const [name, s] of orchestrators) {
    assert.ok(s.volumes?.includes(shared), `${name} mounts ${shared}`);
    assert.ok(s.environment?.WORKSPACES_DIR?.startsWith('/data/'), `${name}: workspaces on the shared volume`);
    assert.ok(s.environment?.CLAUDE_CONFIG_DIR?.startsWith('/data/'), `${name}: Claude Code's transcripts on the shared volume`);
  }
});

test('scale-out compose: a runner is given longer than DRAIN_TIMEOUT_S to drain before Docker kills it', () => {
  for (const name of runners) {
    const s = compose.services[name]!;
    const drain = Number(s.environment?.DRAIN_TIMEOUT_S ?? '0');
    assert.ok(s.stop_grace_period, `${name} sets stop_grace_period`);
    // The margin covers recording interrupted turns and closing the database after the drain.
    assert.ok(seconds(s.stop_grace_period) >= drain + 30, `${name}: stop_grace_period ${s.stop_grace_period} > DRAIN_TIMEOUT_S ${drain} + 30 s`);
  }
  assert.match(composeText, new RegExp(`stop -t (\\d+) ${runners[0]}`), 'the file says how to drain a runner');
  const t = Number(new RegExp(`stop -t (\\d+) ${runners[0]}`).exec(composeText)![1]);
  assert.equal(t, seconds(compose.services[runners[0]!]!.stop_grace_period!), 'the drain command waits as long as stop_grace_period');
});

test('scale-out compose: only the proxy is published, on loopback, to the port nginx listens on; mounted files exist', () => {
  for (const [name, s] of services) if (name !== 'proxy') assert.equal(s.ports, undefined, `${name} is reached only inside the compose network`);
  const published = /^127\.0\.0\.1:(\d+):(\d+)$/.exec(compose.services.proxy!.ports?.[0] ?? '');
  assert.ok(published, 'the proxy publishes one port on loopback');
  assert.equal(/^\s*listen (\d+);/m.exec(nginx)?.[1], published[2], 'nginx listens on the published container port');
  for (const [name, s] of services) {
    for (const v of s.volumes ?? []) {
      if (v.startsWith('./')) assert.ok(fs.existsSync(v.split(':')[0]!), `${name}: mounted file ${v.split(':')[0]} exists`);
    }
  }
  assert.ok(compose.services.proxy!.volumes?.some((v) => v.startsWith(`./${NGINX_FILE}:/etc/nginx/conf.d/`)), 'the proxy mounts deploy/nginx/cco.conf');
  const healthPath = /http:\/\/127\.0\.0\.1(\/\S+)/.exec(compose.services.proxy!.healthcheck!.test.join(' '))?.[1];
  assert.ok(healthPath && nginx.includes(`location = ${healthPath} `), `nginx answers the proxy's health check ${healthPath}`);
});

test('nginx: its upstream is exactly the API services, on the image PORT, re-resolved through Docker DNS', () => {
  const upstream = /upstream\s+(\w+)\s*\{([^}]*)\}/.exec(nginx);
  assert.ok(upstream);
  const servers = [...upstream[2]!.matchAll(/^\s*server\s+([\w-]+):(\d+)([^;]*);/gm)];
  assert.deepEqual(servers.map((s) => s[1]).sort(), [...apis].sort(), 'one server line per API service, none for runners');
  for (const s of servers) {
    assert.equal(s[2], imagePort, `${s[1]} on the image's PORT`);
    assert.match(s[3]!, /\bresolve\b/, `${s[1]} is re-resolved, so a recreated container is found again`);
    assert.match(s[3]!, /\bmax_fails=\d+/, `${s[1]} is left out while it fails`);
  }
  assert.match(upstream[2]!, /^\s*zone\s+\w+/m, 'resolve needs a shared zone');
  assert.match(nginx, /^\s*resolver 127\.0\.0\.11\b/m, "resolve needs a resolver: Docker's embedded DNS");
  const version = /^nginx:(\d+)\.(\d+)/.exec(compose.services.proxy!.image!);
  assert.ok(version && (Number(version[1]) > 1 || Number(version[2]) >= 28), 'nginx 1.28+ (open-source resolve in upstreams came in 1.27.3)');
  const proxied = [...nginx.matchAll(/proxy_pass http:\/\/(\w+);/g)].map((m) => m[1]);
  assert.ok(proxied.length >= 2 && proxied.every((p) => p === upstream[1]), 'every location proxies to the upstream');
});

test('nginx: event streams unbuffered and long-lived, Last-Event-ID and the client address passed on, TRUST_PROXY to match', () => {
  const events = /location = \/api\/events \{([^}]*)\}/.exec(nginx);
  assert.ok(events, 'a location for the live event stream');
  assert.ok(fs.readFileSync('src/http/routes/events.ts', 'utf8').includes("'/api/events'"), 'the API serves /api/events');
  assert.match(events[1]!, /proxy_buffering off;/);
  const readTimeout = /proxy_read_timeout (\d+)([smh]);/.exec(events[1]!);
  assert.ok(readTimeout && seconds(`${readTimeout[1]}${readTimeout[2]}`) >= 600, 'streams stay open far longer than the 15 s heartbeat');
  const general = /^ {4}proxy_read_timeout (\d+)s;/m.exec(nginx);
  assert.ok(general && Number(general[1]) > 60, 'other requests wait past REQUEST_TIMEOUT_MS (60 s), so the API answers its own 503');
  assert.match(nginx, /proxy_set_header Last-Event-ID \$http_last_event_id;/);
  assert.match(nginx, /proxy_set_header Host \$http_host;/, 'the client Host, checked by ALLOWED_HOSTS');
  assert.match(nginx, /proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;/);
  assert.match(nginx, /proxy_set_header X-Forwarded-Proto \$scheme;/);
  assert.match(nginx, /proxy_http_version 1\.1;/);
  // proxy_set_header in a location would drop every one set on the server.
  assert.doesNotMatch(events[1]!, /proxy_set_header/, 'the stream location inherits the forwarded headers');
  for (const name of apis) {
    const trust = compose.services[name]!.environment?.TRUST_PROXY;
    assert.equal(parseTrustProxy(trust), 1, `${name}: TRUST_PROXY=1, nginx being the one hop in front`);
  }
  for (const name of runners) assert.equal(compose.services[name]!.environment?.TRUST_PROXY, undefined, `${name} serves no clients`);
});

test('README: the scale-out guide drains a runner as the compose file does', () => {
  const readme = fs.readFileSync('README.md', 'utf8');
  const guide = readme.slice(readme.indexOf('## Scale-out'), readme.indexOf('\n## ', readme.indexOf('## Scale-out') + 1));
  assert.ok(guide.includes(COMPOSE_FILE) && guide.includes(NGINX_FILE), 'the guide names both files');
  const runner = compose.services[runners[0]!]!;
  assert.ok(guide.includes(`stop -t ${seconds(runner.stop_grace_period!)} ${runners[0]}`), 'its drain command waits as long as stop_grace_period');
  assert.ok(guide.includes(`DRAIN_TIMEOUT_S=${runner.environment!.DRAIN_TIMEOUT_S}`) && guide.includes(`stop_grace_period: ${runner.stop_grace_period}`), 'it quotes the compose values');
  for (const name of ['ROLE', 'DRAIN_TIMEOUT_S']) assert.ok(readme.includes(`| \`${name}\` |`), `${name} is in the settings table`);
});
