/**
 * bench:api at a tiny scale on the test backend: it must run end to end and
 * produce every figure. The values are not checked (timings belong in
 * BENCHMARKS.md, not in tests).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseCli, runApiBench } from '../bench/api.ts';
import { markdownTable } from '../bench/api/report.ts';
import { READ_SCENARIOS, type Latency } from '../bench/api/run.ts';
import { TEST_BACKEND } from './helpers/db.ts';

test('bench:api runs at a tiny scale and reports every figure', { timeout: 120_000 }, async () => {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-bench-test-'));
  try {
    const opts = {
      ...parseCli(['--backend', TEST_BACKEND, '--scale', '0.006', '--requests', '20', '--hook-events', '200', '--concurrency', '10', '--out', outDir]),
      adminUrl: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
      log: () => {},
    };
    const [result] = await runApiBench(opts);
    assert.ok(result);
    assert.equal(result.backend, TEST_BACKEND);
    assert.deepEqual([result.dataset.sessions, result.dataset.messages, result.dataset.logs], [600, 6000, 6000]);
    assert.ok(result.dataset.bigSessionMessages > result.dataset.page_limit);
    for (const s of READ_SCENARIOS) {
      const l: Latency = result.median[s];
      assert.equal(l.n, 20, s);
      assert.equal(l.errors, 0, s);
      for (const v of [l.p50_ms, l.p95_ms, l.mean_ms, l.server_cpu_ms]) assert.ok(Number.isFinite(v) && v > 0, `${s}: ${v}`);
    }
    const h = result.median.hooks;
    assert.equal(h.n, 200);
    assert.equal(h.errors, 0);
    for (const v of [h.events_per_s, h.p50_ms, h.p95_ms, h.p99_ms, h.seconds, h.server_cpu_ms]) assert.ok(Number.isFinite(v) && v > 0, `hooks: ${v}`);
    const b = result.median.hook_batches;
    assert.equal(b.errors, 0);
    assert.equal(b.offered_per_s, 7500, 'paced at the issue\'s target by default');
    assert.equal(parseCli(['--batch-rate', '0']).hookBatchRate, 0, '0: closed loop');
    assert.ok(b.n >= 1 && b.events > b.n && b.events_per_request >= 20 && b.events_per_request <= 50, JSON.stringify(b));
    for (const v of [b.events_per_s, b.p50_ms, b.p95_ms, b.p99_ms, b.seconds, b.server_cpu_ms]) assert.ok(Number.isFinite(v) && v > 0, `hook batches: ${v}`);
    for (const l of [...READ_SCENARIOS.map((s) => result.median[s]), h, b]) {
      assert.ok(l.client_cpu_ms > 0 && l.db_cpu_ms >= 0, 'CPU per request of client and database');
    }
    assert.ok(h.db_cpu_ms > 0, 'the database processes are charged (embedded or server, both are separate processes)');
    assert.ok(result.seed.totalS > 0 && result.machine.database.length > 0);

    const written = JSON.parse(fs.readFileSync(path.join(outDir, `api-${TEST_BACKEND}.json`), 'utf8'));
    assert.deepEqual(written.median, result.median);
    const table = markdownTable([result]);
    assert.match(table, /page 50,000 rows deep/);
    assert.match(table, /events\/s/);
    assert.match(table, /POST \/api\/hooks\/batch \(forwarder batches/);
    assert.match(table, /CPU per hook event in batches/);
    // The AUTH=off / AUTH=keys comparison ran: both sides answered, the keys side with its key.
    const auth = result.auth;
    assert.equal(auth.runs.length, result.runs.length);
    for (const side of [auth.runs[0]!.off, auth.runs[0]!.keys]) {
      assert.equal(side.list.errors + side.hooks.errors, 0);
      assert.ok(side.list.p50_ms > 0 && side.hooks.p50_ms > 0 && side.hooks.events_per_s > 0);
    }
    assert.ok(Number.isFinite(auth.list_p50_added_ms) && Number.isFinite(auth.hooks_p50_added_ms));
    assert.match(table, /AUTH=off → AUTH=keys/);
  } finally {
    fs.rmSync(outDir, { recursive: true, force: true });
  }
});
