/** Durations as people type them on the command line: `cco workspaces gc --older-than`, `cco keys create --expires`. */
const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses "90s", "30m", "12h", "7d", "2w" into milliseconds. */
export function parseAge(text: string): number {
  const m = /^(\d+)([smhdw])$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: ${JSON.stringify(text)} (use e.g. 12h, 7d, 2w)`);
  return Number(m[1]) * UNITS[m[2]!]!;
}
