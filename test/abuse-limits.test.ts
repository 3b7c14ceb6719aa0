/**
 * Abuse limits (issue 11, point 7): per-key and per-address budgets with 429 and
 * Retry-After, a separate larger budget for hook events, a failed-sign-in budget per
 * address, security headers on every answer, no CORS unless configured.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify';
import { LOCAL_ADMIN, type Principal } from '../src/auth/principal.ts';
import { loadConfig } from '../src/config.ts';
import { registerErrorHandling } from '../src/http/errors.ts';
import { bucketOf, clientKey, NO_RATE_LIMITS, registerRateLimits } from '../src/http/rate-limits.ts';
import { AppError } from '../src/lib/errors.ts';
import { createLogger } from '../src/logger.ts';
import { startServer, WEB_ROOT } from '../src/main.ts';
import { createTestApp, roleKeys } from './helpers/app.ts';
import { ensureWebBuilt } from './helpers/browser.ts';
import { createPgDatabase } from './helpers/db.ts';

const from = (remoteAddress: string, o: InjectOptions): InjectOptions => ({ ...o, remoteAddress });
const listSessions = (addr: string): InjectOptions => from(addr, { method: 'GET', url: '/api/sessions' });
const hookEvent = (addr: string): InjectOptions =>
  from(addr, { method: 'POST', url: '/api/hooks/Notification', payload: { session_id: 'limits-claude', hook_event_name: 'Notification', message: 'm' } });

function assertRateLimited(res: { statusCode: number; headers: Record<string, unknown>; json(): unknown }): void {
  assert.equal(res.statusCode, 429);
  const retryAfter = Number(res.headers['retry-after']);
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${String(res.headers['retry-after'])}`);
  const body = res.json() as { error: { code: string; message: string } };
  assert.deepEqual(Object.keys(body), ['error']);
  assert.equal(body.error.code, 'rate_limited');
  assert.match(body.error.message, /retry in/);
}

describe('rate limits on the app', () => {
  test('the API budget is per address: 429 with Retry-After after it, other addresses unaffected, health not counted', async () => {
    const t = await createTestApp({ rateLimits: { perMin: 3 } });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await t.app.inject(listSessions('10.0.0.1'))).statusCode, 200);
      const refused = await t.app.inject(listSessions('10.0.0.1'));
      assertRateLimited(refused);
      assert.equal(refused.headers['x-content-type-options'], 'nosniff', 'a 429 carries the security headers too');
      assert.equal((await t.app.inject(listSessions('10.0.0.2'))).statusCode, 200);
      assert.equal((await t.app.inject(from('10.0.0.1', { method: 'GET', url: '/api/health' }))).statusCode, 200);
      assert.equal((await t.app.inject(from('10.0.0.1', { method: 'GET', url: '/docs/json' }))).statusCode, 200);
      // One host holds a whole IPv6 /64: its addresses share one budget.
      for (let i = 1; i <= 3; i++) assert.equal((await t.app.inject(listSessions(`2001:db8:1:2::${i}`))).statusCode, 200);
      assertRateLimited(await t.app.inject(listSessions('2001:db8:1:2::ffff')));
      assert.equal((await t.app.inject(listSessions('2001:db8:1:3::1'))).statusCode, 200);
    } finally {
      await t.close();
    }
  });

  test('behind a trusted proxy (TRUST_PROXY) each client has its own budget; an untrusted sender cannot pick one', async () => {
    const viaProxy = (client: string, remote = '10.0.0.9'): InjectOptions => ({ ...listSessions(remote), headers: { 'x-forwarded-for': client } });
    const t = await createTestApp({ rateLimits: { perMin: 2 }, trustProxy: ['10.0.0.9'] });
    try {
      for (let i = 0; i < 2; i++) assert.equal((await t.app.inject(viaProxy('203.0.113.1'))).statusCode, 200);
      assertRateLimited(await t.app.inject(viaProxy('203.0.113.1')));
      assert.equal((await t.app.inject(viaProxy('203.0.113.2'))).statusCode, 200, 'another client behind the proxy');
      // Not the proxy: its X-Forwarded-For is ignored, so changing it does not buy a new budget.
      for (let i = 0; i < 2; i++) assert.equal((await t.app.inject(viaProxy(`198.51.100.${i}`, '10.0.0.50'))).statusCode, 200);
      assertRateLimited(await t.app.inject(viaProxy('198.51.100.99', '10.0.0.50')));
    } finally {
      await t.close();
    }
    assert.deepEqual(loadConfig({ TRUST_PROXY: '10.0.0.0/8, ::1' }).http.trustProxy, ['10.0.0.0/8', '::1']);
    assert.equal(loadConfig({ TRUST_PROXY: '1' }).http.trustProxy, 1);
    assert.equal(loadConfig({}).http.trustProxy, false);
    assert.throws(() => loadConfig({ TRUST_PROXY: 'true' }), /TRUST_PROXY/);
    assert.throws(() => loadConfig({ TRUST_PROXY: '10.0.0.0/99' }), /TRUST_PROXY/);
  });

  test('hook events have their own, larger budget', async () => {
    const t = await createTestApp({ rateLimits: { perMin: 2, hooksPerMin: 5 } });
    try {
      for (let i = 0; i < 5; i++) {
        const res = await t.app.inject(hookEvent('10.0.0.3'));
        assert.ok(res.statusCode < 300, `hook event ${i}: ${res.statusCode} ${res.body}`);
      }
      assertRateLimited(await t.app.inject(hookEvent('10.0.0.3')));
      // The API budget was not drawn on by the hook events, nor the hook budget by the API.
      for (let i = 0; i < 2; i++) assert.equal((await t.app.inject(listSessions('10.0.0.3'))).statusCode, 200);
      assertRateLimited(await t.app.inject(listSessions('10.0.0.3')));
      assert.ok((await t.app.inject(hookEvent('10.0.0.4'))).statusCode < 300);
    } finally {
      await t.close();
    }
  });

  test('0 turns a budget off', async () => {
    const t = await createTestApp({ rateLimits: { perMin: 0, hooksPerMin: 1 } });
    try {
      for (let i = 0; i < 30; i++) assert.equal((await t.app.inject(listSessions('10.0.0.5'))).statusCode, 200);
      assert.ok((await t.app.inject(hookEvent('10.0.0.5'))).statusCode < 300);
      assertRateLimited(await t.app.inject(hookEvent('10.0.0.5')));
    } finally {
      await t.close();
    }
  });
});

describe('who is counted', () => {
  test('clientKey: the API key when there is one, else the address', () => {
    const key: Principal = { keyId: 'k-123', name: 'ci', role: 'user', owner: 'ci' };
    assert.equal(clientKey({ ip: '10.1.1.1', principal: key }), 'key:k-123');
    assert.equal(clientKey({ ip: '10.1.1.1', principal: LOCAL_ADMIN }), 'addr:10.1.1.1');
    assert.equal(clientKey({ ip: '10.1.1.1' }), 'addr:10.1.1.1');
    assert.equal(clientKey({ ip: '::ffff:10.1.1.1' }), 'addr:10.1.1.1');
    assert.equal(clientKey({ ip: '2001:db8:1:2:aaaa::1' }), clientKey({ ip: '2001:db8:1:2:bbbb::2' }));
  });

  test('bucketOf: hooks apart; health, docs and dashboard files not counted', () => {
    assert.equal(bucketOf('/api/hooks/:event'), 'hooks');
    assert.equal(bucketOf('/api/hooks/batch'), 'hooks');
    assert.equal(bucketOf('/api/sessions/:id'), 'api');
    for (const u of ['/api/health', '/api/openapi.json', '/docs/static/*', '/*', '/', undefined]) assert.equal(bucketOf(u), undefined, String(u));
  });

  /**
   * A stand-in for the auth hook (x-test-key names the key), added after the limits as
   * app.ts will: the per-route check must still see the principal it sets.
   */
  async function appWithAuth(limits: Partial<typeof NO_RATE_LIMITS>): Promise<FastifyInstance> {
    const app = Fastify();
    registerErrorHandling(app);
    await registerRateLimits(app, { ...NO_RATE_LIMITS, ...limits });
    app.decorateRequest('principal');
    app.addHook('onRequest', async (req) => {
      const id = req.headers['x-test-key'];
      if (id === 'wrong') throw new AppError('unauthorized', 'no such key', 401);
      req.principal = typeof id === 'string' ? { keyId: id, name: id, role: 'user', owner: id } : LOCAL_ADMIN;
    });
    app.get('/api/things', async () => ({ ok: true }));
    await app.ready();
    return app;
  }

  test('requests with an API key are counted per key, wherever they come from', async () => {
    const app = await appWithAuth({ perMin: 2 });
    try {
      const get = (addr: string, key?: string) => app.inject(from(addr, { method: 'GET', url: '/api/things', headers: key ? { 'x-test-key': key } : {} }));
      assert.equal((await get('10.2.0.1', 'alpha')).statusCode, 200);
      assert.equal((await get('10.2.0.2', 'alpha')).statusCode, 200);
      assertRateLimited(await get('10.2.0.3', 'alpha'));
      // Same address, another key: its own budget; no key: the address's budget.
      assert.equal((await get('10.2.0.1', 'beta')).statusCode, 200);
      assert.equal((await get('10.2.0.1')).statusCode, 200);
      assert.equal((await get('10.2.0.1')).statusCode, 200);
      assertRateLimited(await get('10.2.0.1'));
    } finally {
      await app.close();
    }
  });

  test('an address with too many failed sign-ins gets 429 for everything until the window ends', async () => {
    const app = await appWithAuth({ authFailuresPerMin: 2 });
    try {
      const get = (addr: string, key?: string) => app.inject(from(addr, { method: 'GET', url: '/api/things', headers: key ? { 'x-test-key': key } : {} }));
      assert.equal((await get('10.3.0.1', 'wrong')).statusCode, 401);
      assert.equal((await get('10.3.0.1', 'good')).statusCode, 200, 'successes are not counted');
      assert.equal((await get('10.3.0.1', 'wrong')).statusCode, 401);
      assertRateLimited(await get('10.3.0.1', 'wrong'));
      assertRateLimited(await get('10.3.0.1', 'good'));
      assert.equal((await get('10.3.0.2', 'good')).statusCode, 200);
      assert.equal((await get('10.3.0.2', 'wrong')).statusCode, 401);
    } finally {
      await app.close();
    }
  });
});

test('with AUTH=keys: budgets per key across addresses, and failed sign-ins per address', async () => {
  const t = await createTestApp({ auth: 'keys', rateLimits: { perMin: 2, authFailuresPerMin: 2 } });
  try {
    const keys = await roleKeys(t.auth);
    const get = (addr: string, key: string) => t.app.inject(from(addr, { method: 'GET', url: '/api/sessions', headers: { authorization: `Bearer ${key}` } }));
    assert.equal((await get('10.4.0.1', keys.alice)).statusCode, 200);
    assert.equal((await get('10.4.0.2', keys.alice)).statusCode, 200);
    assertRateLimited(await get('10.4.0.3', keys.alice));
    assert.equal((await get('10.4.0.1', keys.bob)).statusCode, 200, 'another key from the same address has its own budget');

    const wrong = 'cco_not-a-real-key-for-tests';
    assert.equal((await get('10.4.0.9', wrong)).statusCode, 401);
    assert.equal((await get('10.4.0.9', wrong)).statusCode, 401);
    assertRateLimited(await get('10.4.0.9', wrong));
    assertRateLimited(await get('10.4.0.9', keys.viewer));
    assert.equal((await get('10.4.0.8', keys.viewer)).statusCode, 200);
  } finally {
    await t.close();
  }
});

describe('security headers', () => {
  test('on API answers, the dashboard and /docs; a CSP both pages work with; no HSTS over plain HTTP', async () => {
    ensureWebBuilt();
    const t = await createTestApp({ webRoot: WEB_ROOT });
    try {
      const html = { accept: 'text/html' };
      const answers = {
        api: await t.app.inject({ method: 'GET', url: '/api/sessions' }),
        notFound: await t.app.inject({ method: 'GET', url: '/api/nothing-here' }),
        hostRefused: await t.app.inject({ method: 'GET', url: '/api/sessions', headers: { host: 'attacker.example' } }),
        dashboard: await t.app.inject({ method: 'GET', url: '/', headers: html }),
        dashboardPage: await t.app.inject({ method: 'GET', url: '/sessions/abc', headers: html }),
        docs: await t.app.inject({ method: 'GET', url: '/docs', headers: html }),
        docsScript: await t.app.inject({ method: 'GET', url: '/docs/static/swagger-ui-bundle.js' }),
      };
      assert.deepEqual(Object.values(answers).map((r) => r.statusCode), [200, 404, 403, 200, 200, 200, 200]);
      for (const [name, r] of Object.entries(answers)) {
        const csp = String(r.headers['content-security-policy']);
        assert.match(csp, /default-src 'self'/, name);
        assert.match(csp, /script-src 'self'(;|$)/, name);
        assert.match(csp, /frame-ancestors 'self'/, name);
        assert.doesNotMatch(csp, /upgrade-insecure-requests/, name);
        assert.equal(r.headers['x-content-type-options'], 'nosniff', name);
        assert.equal(r.headers['x-frame-options'], 'SAMEORIGIN', name);
        assert.equal(r.headers['referrer-policy'], 'no-referrer', name);
        assert.equal(r.headers['strict-transport-security'], undefined, name);
        assert.equal(r.headers['access-control-allow-origin'], undefined, name);
      }
      // The built dashboard and Swagger UI load only same-origin scripts (what script-src 'self' allows).
      for (const page of [answers.dashboard.body, answers.docs.body]) {
        const scripts = [...page.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
        assert.ok(scripts.length > 0);
        for (const [, attrs, inline] of scripts) {
          assert.match(attrs!, /src="(\.|\/)[^"/]/, `script ${attrs}`);
          assert.equal(inline!.trim(), '', 'no inline script');
        }
      }
    } finally {
      await t.close();
    }
  });

  test('HSTS_MAX_AGE_S adds Strict-Transport-Security and upgrade-insecure-requests', async () => {
    const t = await createTestApp({ hstsMaxAgeS: 3600 });
    try {
      const res = await t.app.inject({ method: 'GET', url: '/api/sessions' });
      assert.equal(res.headers['strict-transport-security'], 'max-age=3600');
      assert.match(String(res.headers['content-security-policy']), /upgrade-insecure-requests/);
    } finally {
      await t.close();
    }
  });
});

test('settings from the environment reach the server: budgets, HSTS, and no CORS without CORS_ORIGINS', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-limits-'));
  const pg = await createPgDatabase();
  const config = loadConfig({ PORT: '0', DATA_DIR: dataDir, DATABASE_URL: pg.url, LOG_LEVEL: 'silent', AUTH: 'off', RATE_LIMIT_PER_MIN: '2' });
  assert.deepEqual(config.http.rateLimits, { perMin: 2, hooksPerMin: 60_000, authFailuresPerMin: 30 });
  assert.equal(config.http.hstsMaxAgeS, 0);
  const server = await startServer(config, createLogger('silent', { pretty: false }));
  try {
    const get = () => fetch(`${server.url}/api/sessions`, { headers: { origin: 'https://ui.example.com' } });
    for (let i = 0; i < 2; i++) {
      const ok = await get();
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('access-control-allow-origin'), null);
      assert.equal(ok.headers.get('x-ratelimit-limit'), '2');
      await ok.arrayBuffer();
    }
    const refused = await get();
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'rate_limited');
    const preflight = await fetch(`${server.url}/api/sessions`, { method: 'OPTIONS', headers: { origin: 'https://ui.example.com', 'access-control-request-method': 'POST' } });
    assert.equal(preflight.headers.get('access-control-allow-origin'), null);
    assert.equal(preflight.headers.get('access-control-allow-methods'), null);
    await preflight.arrayBuffer();
  } finally {
    await server.stop();
    await pg.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
