/**
 * ALLOWED_HOSTS and CORS_ORIGINS reach the server from the environment (issue 9, point 15):
 * read by loadConfig, passed by startServer, applied to real HTTP requests.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { startServer } from '../src/main.ts';
import { createPgDatabase } from './helpers/db.ts';

function get(url: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('ALLOWED_HOSTS and CORS_ORIGINS from the environment apply to requests', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-http-settings-'));
  const pg = await createPgDatabase();
  const config = loadConfig({
    PORT: '0',
    DATA_DIR: dataDir,
    DATABASE_URL: pg.url,
    LOG_LEVEL: 'silent',
    AUTH: 'off',
    ALLOWED_HOSTS: 'orchestrator.internal, .corp.example',
    CORS_ORIGINS: 'https://ui.example.com',
  });
  assert.deepEqual(config.http.allowedHosts, ['orchestrator.internal', '.corp.example']);
  const server = await startServer(config, createLogger('silent', { pretty: false }));
  try {
    const health = `${server.url}/api/health`;
    assert.equal((await get(health, { host: 'orchestrator.internal:3000' })).status, 200);
    assert.equal((await get(health, { host: 'cco.corp.example' })).status, 200);
    const refused = await get(health, { host: 'attacker.example' });
    assert.equal(refused.status, 403);
    assert.equal(JSON.parse(refused.body).error.code, 'host_not_allowed');

    const cors = await get(health, { host: '127.0.0.1', origin: 'https://ui.example.com' });
    assert.equal(cors.headers['access-control-allow-origin'], 'https://ui.example.com');
    const other = await get(health, { host: '127.0.0.1', origin: 'https://elsewhere.example' });
    assert.equal(other.headers['access-control-allow-origin'], undefined);
  } finally {
    await server.stop();
    await pg.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
