/** Names of environment variables whose values are secrets (redacted from every stored text). */
export const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD|PASSWD|AUTH|CREDENTIAL|DATABASE_URL/i;

/** Shorter values would redact ordinary words. */
export const MIN_SECRET_LENGTH = 6;

/** Replaces every occurrence of each secret with `[redacted]`, longest first (a token inside a URL goes with the URL). */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join('[redacted]');
  return out;
}

/** The list as given, but JSON (a logged or printed config) shows none of its values. */
export function hiddenFromJson(values: string[]): string[] {
  Object.defineProperty(values, 'toJSON', { value: () => `[${values.length} secrets]`, enumerable: false });
  return values;
}
