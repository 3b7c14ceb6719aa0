/**
 * envd runs commands through `/bin/bash -l -c <line>`, so every argument that
 * reaches a sandbox is single-quoted here: no user-supplied text is ever
 * interpreted by the sandbox's shell.
 */
export function shellQuote(s: string): string {
  if (s.includes('\0')) throw new Error('NUL byte in a command argument');
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function shellLine(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
