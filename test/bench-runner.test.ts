/**
 * bench:runner in quick mode on the test backend: every part runs end to end
 * with the real Claude Code binary and every figure is produced. The values are
 * not checked (timings belong in BENCHMARKS.md, not in tests); the counts that
 * say nothing was lost are.
 *
 * @backends embedded: the benchmark's harness end to end; the paths it times are tested on both backends by their own tests.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseCli, runRunnerBench } from '../bench/runner.ts';
import { markdownTable } from '../bench/runner/report.ts';
import { TEST_BACKEND } from './helpers/db.ts';

const finite = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;

test('bench:runner --quick produces every figure', { timeout: 600_000 }, async () => {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-bench-runner-test-'));
  try {
    assert.deepEqual((({ runs, sessions, cycleSessions, cycles }) => [runs, sessions, cycleSessions, cycles])(parseCli(['--quick'])), [3, 3, 2, 3]);
    // Smaller than --quick (the suite is bound by CPU, and each turn starts Claude Code): enough for
    // every figure, and for both restarts of the cycles (after the first and the second of three).
    const small = ['--runs', '2', '--sessions', '2', '--cycle-sessions', '1', '--cycles', '3'];
    const opts = { ...parseCli(['--quick', ...small, '--backend', TEST_BACKEND, '--out', outDir]), log: () => {} };
    const r = await runRunnerBench(opts);

    assert.equal(r.latency.length, 1);
    const l = r.latency[0]!;
    assert.equal(l.backend, TEST_BACKEND);
    assert.equal(l.rounds.length, 1);
    assert.equal(l.rounds[0]!.orchestrator.samples_ms.length, 2);
    assert.equal(l.rounds[0]!.bare.samples_ms.length, 2);
    assert.equal(l.rounds[0]!.sdk.samples_ms.length, 2);
    for (const v of [l.median_orchestrator_p50_ms, l.median_orchestrator_p95_ms, l.median_bare_p50_ms, l.median_bare_p95_ms, l.median_sdk_p50_ms, ...Object.values(l.rounds[0]!.phases)]) assert.ok(finite(v), `latency: ${v}`);
    assert.ok(Number.isFinite(l.median_diff_p50_ms));

    const b = r.burst!;
    assert.equal(b.backend, TEST_BACKEND);
    assert.equal(b.completed_turns, 2);
    assert.equal(b.logs, 10);
    assert.ok(b.all_finished && b.no_log_lost);
    assert.ok(finite(b.max_concurrent_runs));
    for (const v of [b.wall_s, b.peak.server_mb, b.peak.server_start_mb, b.peak.claude_sum_mb, b.peak.claude_processes]) assert.ok(finite(v), `burst: ${v}`);

    assert.equal(r.cycles.length, 1);
    const c = r.cycles[0]!;
    assert.equal(c.backend, TEST_BACKEND);
    assert.equal(c.total_cycles, 3);
    assert.deepEqual(c.restarts.map((x) => x.signal), ['SIGTERM', 'SIGKILL']);
    assert.equal(c.successful + c.failures.length, 3);
    assert.ok(c.success_share >= 0 && c.success_share <= 1);
    assert.equal(c.claude_processes_left, 0);

    const table = markdownTable(r);
    assert.match(table, /Start latency/);
    assert.match(table, /2 sessions at once on/);
    assert.match(table, /successful resumes/);
    assert.ok(fs.existsSync(path.join(outDir, 'runner-quick.json')));
    assert.ok(fs.existsSync(path.join(outDir, 'runner-quick.md')));
  } finally {
    fs.rmSync(outDir, { recursive: true, force: true });
  }
});
