/** A tool call's exact input: a Bash command as code, anything else as JSON, long inputs folded. */

/** Inputs longer than this (lines or characters) open on demand. */
const FOLD_LINES = 14;
const FOLD_CHARS = 1_200;

function pretty(v: unknown): string {
  if (typeof v === 'string') return v;
  try {
    return JSON.stringify(v, null, 2) ?? String(v);
  } catch {
    return String(v);
  }
}

function Folded({ text, label, testId }: { text: string; label: string; testId?: string }) {
  const lines = text.split('\n').length;
  const pre = <pre tabIndex={0} className="approval-input" data-testid={testId}>{text}</pre>;
  if (lines <= FOLD_LINES && text.length <= FOLD_CHARS) return pre;
  return (
    <details className="approval-fold">
      <summary>{label} · {lines} lines, {text.length} characters</summary>
      {pre}
    </details>
  );
}

export function ToolInput({ tool, input }: { tool: string; input: unknown }) {
  const obj = input !== null && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>) : undefined;
  if (tool === 'Bash' && typeof obj?.command === 'string') {
    const { command, description, ...rest } = obj;
    return (
      <div className="tool-input">
        {typeof description === 'string' && description && <p className="muted approval-desc">{description}</p>}
        {/* Shown exactly as it would run: wrapped, never cut. */}
        <pre tabIndex={0} className="approval-command" data-testid="approval-command"><code>{command}</code></pre>
        {Object.keys(rest).length > 0 && <Folded text={pretty(rest)} label="Other input" />}
      </div>
    );
  }
  return (
    <div className="tool-input">
      <Folded text={pretty(input)} label="Input" testId="approval-json" />
    </div>
  );
}
