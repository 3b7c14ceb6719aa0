import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import type { Logger } from '../logger.ts';
import type { SessionService } from '../sessions/service.ts';
import { watchStall } from './stall-watcher.ts';

function fixture() {
  const notices: { content: string; metadata: Record<string, unknown> }[] = [];
  const logs: string[] = [];
  const sessions = { addMessage: async (_id: string, m: { content: string; metadata: Record<string, unknown> }) => void notices.push(m) } as unknown as SessionService;
  const log = { warn: (_o: unknown, msg: string) => logs.push(`warn ${msg}`), info: (_o: unknown, msg: string) => logs.push(`info ${msg}`), error: () => {} } as unknown as Logger;
  return { notices, logs, sessions, log };
}

test('steady progress is no stall; silence is reported once; progress afterwards is logged and re-arms the watch', () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  try {
    const f = fixture();
    const w = watchStall({ afterS: 2, sessions: f.sessions, log: f.log, sessionId: 's', turnId: 7, describe: () => 'waiting on Bash' });
    for (let i = 0; i < 10; i++) {
      mock.timers.tick(1_500);
      w.progress();
    }
    assert.equal(f.notices.length, 0, 'never 2 s without progress');
    mock.timers.tick(2_000);
    assert.equal(f.notices.length, 1, 'reported after 2 s of silence');
    for (let i = 0; i < 10; i++) mock.timers.tick(1_000);
    assert.equal(f.notices.length, 1, 'one notice for one stall, however long');
    assert.match(f.notices[0]!.content, /no progress for 2 s \(waiting on Bash\)/);
    assert.deepEqual(f.notices[0]!.metadata, { turn_id: 7, reason: 'stalled', idle_s: 2 });
    w.progress();
    assert.deepEqual(f.logs, ['warn turn shows no progress', 'info turn progressing again']);
    mock.timers.tick(2_500);
    assert.equal(f.notices.length, 2, 'a later stall is reported again');
    w.stop();
    mock.timers.tick(60_000);
    assert.equal(f.notices.length, 2, 'nothing after stop');
  } finally {
    mock.timers.reset();
  }
});

test('0 turns the watch off', () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  try {
    const f = fixture();
    watchStall({ afterS: 0, sessions: f.sessions, log: f.log, sessionId: 's', turnId: 1 });
    mock.timers.tick(3_600_000);
    assert.equal(f.notices.length, 0);
  } finally {
    mock.timers.reset();
  }
});
