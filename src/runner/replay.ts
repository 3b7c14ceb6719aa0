/** The prompt for a new Claude Code session that must carry on a conversation whose transcript was lost. */
import type { SessionService } from '../sessions/service.ts';
import type { Message } from '../sessions/types.ts';

const REPLAY_MESSAGES = 50;

/** The last REPLAY_MESSAGES user and assistant messages before `beforeMessageId`, then the prompt. */
export async function replayPrompt(sessions: SessionService, sessionId: string, beforeMessageId: number | null, prompt: string): Promise<string> {
  const earlier: Message[] = [];
  let cursor: string | undefined;
  do {
    const page = await sessions.listMessages(sessionId, 200, cursor);
    earlier.push(...page.data.filter((m) => m.direction !== 'system' && (beforeMessageId === null || m.id < beforeMessageId)));
    cursor = page.next_cursor ?? undefined;
  } while (cursor && earlier.length < 5000);
  const lines = earlier.slice(-REPLAY_MESSAGES).map((m) => `${m.direction === 'user' ? 'User' : 'Assistant'}: ${m.content.slice(0, 4000)}`);
  return [
    'This conversation continues an earlier Claude Code session whose transcript was lost. The conversation so far:',
    '<conversation>',
    ...lines,
    '</conversation>',
    '',
    prompt,
  ].join('\n');
}
