/**
 * PostToolUse / PostToolUseFailure bodies shaped like the ones Claude Code sends
 * (shared/reference/claude-code.md §1.3): a mix of tools with their real
 * tool_response shapes, one failure in twenty, every tool_use_id unique.
 */

const FILE_TEXT = Array.from({ length: 40 }, (_, i) => `export function step${i}(input: string): string { return input.trim(); }`).join('\n');

export interface HookPayloadSpec {
  /** Claude Code session ids the events are spread over (existing and new sessions). */
  claudeSessionIds: readonly string[];
  /** Distinguishes this run's tool_use_ids from every earlier run's. */
  runTag: string;
}

export function hookPayload(spec: HookPayloadSpec, i: number): Record<string, unknown> {
  const sessionId = spec.claudeSessionIds[i % spec.claudeSessionIds.length] as string;
  const cwd = `/srv/work/proj-${i % spec.claudeSessionIds.length}`;
  const base = {
    session_id: sessionId,
    transcript_path: `/home/agent/.claude/projects/${cwd.replaceAll('/', '-')}/${sessionId}.jsonl`,
    cwd,
    prompt_id: `7906c1be-3cd9-4751-a784-${String(i % 1_000_000).padStart(12, '0')}`,
    permission_mode: 'acceptEdits',
    effort: { level: 'medium' },
    tool_use_id: `toolu_${spec.runTag}_${i}`,
    duration_ms: 5 + ((i * 37) % 900),
  };
  if (i % 20 === 19) {
    return {
      ...base,
      hook_event_name: 'PostToolUseFailure',
      tool_name: 'Bash',
      tool_input: { command: `npm test -- --grep case${i}`, description: 'run the failing test' },
      error: `Exit code 1\nFAIL test/case${i}.test.ts\n  expected 3 to equal 4`,
      is_interrupt: false,
    };
  }
  const file = `${cwd}/src/module${i % 97}.ts`;
  switch (i % 4) {
    case 0:
      return {
        ...base,
        hook_event_name: 'PostToolUse',
        tool_name: 'Bash',
        tool_input: { command: `git status --short && ls src | head -${i % 50}`, description: 'inspect the tree' },
        tool_response: { stdout: ' M src/app.ts\n?? notes.md\napp.ts\nconfig.ts\nmain.ts', stderr: '', interrupted: false, isImage: false, noOutputExpected: false },
      };
    case 1:
      return {
        ...base,
        hook_event_name: 'PostToolUse',
        tool_name: 'Read',
        tool_input: { file_path: file },
        tool_response: { type: 'text', file: { filePath: file, content: FILE_TEXT, numLines: 40, startLine: 1, totalLines: 40 } },
      };
    case 2:
      return {
        ...base,
        hook_event_name: 'PostToolUse',
        tool_name: 'Edit',
        tool_input: { file_path: file, old_string: 'input.trim()', new_string: 'input.trim().toLowerCase()', replace_all: false },
        tool_response: {
          filePath: file,
          oldString: 'input.trim()',
          newString: 'input.trim().toLowerCase()',
          originalFile: FILE_TEXT.slice(0, 600),
          structuredPatch: [{ oldStart: 3, oldLines: 1, newStart: 3, newLines: 1, lines: ['-  return input.trim();', '+  return input.trim().toLowerCase();'] }],
          userModified: false,
          replaceAll: false,
        },
      };
    default:
      return {
        ...base,
        hook_event_name: 'PostToolUse',
        tool_name: 'Write',
        tool_input: { file_path: `${file}.new`, content: FILE_TEXT.slice(0, 400) },
        tool_response: { type: 'create', filePath: `${file}.new`, content: FILE_TEXT.slice(0, 400), structuredPatch: [], originalFile: null, userModified: false },
      };
  }
}

/** The busy sessions' forwarders of the batch scenario: sender k stands for session k. */
export interface HookBatchSpec {
  claudeSessionIds: readonly string[];
  runTag: string;
}

/** Events in batch request i: 20 to 50, what a busy session's spool holds when its worker comes round. */
export const batchSize = (i: number) => 20 + ((i * 13) % 31);
/** One batch in ten carries a turn's edges: a UserPromptSubmit first and a Stop last (session events and messages). */
export const batchHasTurn = (i: number) => i % 10 === 0;
const SLOT = 64; // > the largest batch: event j of batch i is event number i * SLOT + j

/** Body of batch request i from forwarder `sender`, as cco-hook.sh builds it (event, spool file name as id, payload). */
export function hookBatch(spec: HookBatchSpec, i: number, sender: number): { events: Array<{ event: string; id: string; payload: Record<string, unknown> }> } {
  const sessionId = spec.claudeSessionIds[sender % spec.claudeSessionIds.length] as string;
  const one = { claudeSessionIds: [sessionId], runTag: spec.runTag };
  const n = batchSize(i);
  const turn = batchHasTurn(i);
  const events = Array.from({ length: n }, (_, j) => {
    const k = i * SLOT + j;
    const id = (event: string) => `${spec.runTag}-${k}-${sender}-${event}`;
    if (turn && j === 0) return { event: 'UserPromptSubmit', id: id('UserPromptSubmit'), payload: { session_id: sessionId, cwd: '/srv/work/proj', hook_event_name: 'UserPromptSubmit', prompt: `step ${i}: make the tests pass` } };
    if (turn && j === n - 1) return { event: 'Stop', id: id('Stop'), payload: { session_id: sessionId, cwd: '/srv/work/proj', hook_event_name: 'Stop', stop_hook_active: false, last_assistant_message: `Done with step ${i}.` } };
    const payload = hookPayload(one, k);
    return { event: payload.hook_event_name as string, id: id(payload.hook_event_name as string), payload };
  });
  return { events };
}
