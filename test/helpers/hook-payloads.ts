/** Hook payloads shaped like Claude Code's (shared/reference/claude-code.md §1.3), shared by the hook API tests. */
import { randomUUID } from 'node:crypto';

/** A run's payloads, as captured from Claude Code 2.1.330 (paths rewritten). */
export function run(sessionId = randomUUID(), cwd = '/srv/work/proj') {
  const common = { session_id: sessionId, transcript_path: `/home/agent/.claude/projects/-srv-work-proj/${sessionId}.jsonl`, cwd };
  const promptId = randomUUID();
  return {
    sessionId,
    SessionStart: { ...common, hook_event_name: 'SessionStart', source: 'startup' },
    UserPromptSubmit: { ...common, prompt_id: promptId, permission_mode: 'default', hook_event_name: 'UserPromptSubmit', prompt: 'SCRIPT:bash' },
    PostToolUse: {
      ...common, prompt_id: promptId, permission_mode: 'default', effort: { level: 'medium' }, hook_event_name: 'PostToolUse', tool_name: 'Bash',
      tool_input: { command: 'echo hello-from-bash > out.txt && cat out.txt', description: 'step' },
      tool_response: { stdout: 'hello-from-bash', stderr: '', interrupted: false, isImage: false, noOutputExpected: false },
      tool_use_id: `toolu_${randomUUID()}`, duration_ms: 26,
    },
    PostToolUseFailure: {
      ...common, prompt_id: promptId, permission_mode: 'default', effort: { level: 'medium' }, hook_event_name: 'PostToolUseFailure', tool_name: 'Bash',
      tool_input: { command: 'echo to-stderr 1>&2; exit 3', description: 'step' }, tool_use_id: `toolu_${randomUUID()}`,
      error: 'Exit code 3\nto-stderr', is_interrupt: false, duration_ms: 28,
    },
    SubagentStop: {
      ...common, prompt_id: promptId, permission_mode: 'default', agent_id: 'af77378144b7bd447', agent_type: 'general-purpose', effort: { level: 'medium' },
      hook_event_name: 'SubagentStop', stop_hook_active: false, agent_transcript_path: '/home/agent/.claude/projects/x/subagents/agent-af77378144b7bd447.jsonl',
      last_assistant_message: 'Finished script sub.', background_tasks: [], session_crons: [],
    },
    Notification: { ...common, hook_event_name: 'Notification', message: 'Claude needs your permission to use Bash', notification_type: 'permission_prompt' },
    PreCompact: { ...common, prompt_id: promptId, hook_event_name: 'PreCompact', trigger: 'manual', custom_instructions: 'keep tool names' },
    Stop: {
      ...common, prompt_id: promptId, permission_mode: 'default', effort: { level: 'medium' }, hook_event_name: 'Stop', stop_hook_active: false,
      last_assistant_message: 'Finished script bash.', background_tasks: [], session_crons: [],
    },
    SessionEnd: { ...common, prompt_id: promptId, hook_event_name: 'SessionEnd', reason: 'other' },
  };
}

