/**
 * The one redaction rule for text the server stores or logs: values that look like secrets
 * become `[redacted]`. Three kinds of match:
 * - the server's own secret values, exactly (config's runner.secrets);
 * - built-in patterns (RULES: Authorization and x-api-key values, provider API keys, PEM
 *   private key blocks, passwords in URLs), each with a name REDACT_DISABLE can turn off;
 * - extra regular expressions from REDACT_PATTERNS.
 * It runs on every stored row (src/db/text.ts) and log line (src/logger.ts), thousands a
 * second, so ordinary text costs one scan of a cheap combined pre-check, and every pattern is
 * linear: no nested quantifiers, and the PEM block is found by a loop, not a lazy regex.
 */

export const REDACTED = '[redacted]';

interface Rule {
  re: RegExp;
  /** `$1[redacted]` keeps a prefix (the header name, the URL up to the password). */
  replacement: string;
}

const header = (name: string): Rule => ({
  // name, optional quote (JSON or a quoted curl -H), ':' or '=', an optional scheme, then the value
  // (up to a backslash too: in JSON text `\n` ends it, and the next line may hold another secret).
  re: new RegExp(`(${name}["']?[ \\t]{0,16}[:=][ \\t]{0,16}["']?(?:(?:bearer|basic|token|digest|negotiate)[ \\t]{1,16})?)[^\\s"',;\\\\]{1,8192}`, 'gi'),
  replacement: `$1${REDACTED}`,
});
/**
 * A key starts where no letter, digit or _ precedes it, or right after an escape like `\n`
 * (JSON text of a multi-line string): \b alone would miss a key at the start of such a line.
 */
const START = '(?:(?<![A-Za-z0-9_])|(?<=\\\\[nrt]))';
const key = (source: string): Rule => ({ re: new RegExp(START + source, 'g'), replacement: REDACTED });

/** Built-in patterns by name (REDACT_DISABLE takes these names). private_key is handled by redactPem. */
const RULES = {
  authorization: header('(?:proxy-)?authorization'),
  api_key_header: header('x-api-key'),
  // Anthropic (sk-ant-), OpenAI (sk-, sk-proj-, sk-svcacct-, sk-admin-): one shape.
  anthropic_openai: key('sk-[A-Za-z0-9_-]{20,}'),
  github: key('(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})'),
  slack: key('xox[abprs]-[A-Za-z0-9-]{10,}'),
  aws: key('(?:AKIA|ASIA)[A-Z0-9]{16}\\b'),
  google: key('AIza[0-9A-Za-z_-]{35}'),
  stripe: key('[sr]k_live_[0-9A-Za-z]{16,}'),
  cco: key('cco_[0-9A-Za-z]{30,}'),
  url_password: { re: /(\b[a-z][a-z0-9+.-]{0,31}:\/\/[^\s:@/?#"'<>]{0,256}:)[^\s@/?#"'<>]{1,1024}(?=@)/gi, replacement: `$1${REDACTED}` },
  private_key: undefined,
} as const satisfies Record<string, Rule | undefined>;

export type RuleName = keyof typeof RULES;
export const RULE_NAMES = Object.keys(RULES) as RuleName[];

/**
 * Something every built-in match contains. Most text fails it in one scan; text that passes
 * goes through each rule (which may still find nothing, e.g. a URL without a password).
 */
const MAYBE_SECRET = /authorization|x-api-key|sk-|gh[pousr]_|github_pat_|xox[abprs]-|A[KS]IA|AIza|[sr]k_live_|cco_|PRIVATE KEY-----|:\/\/[^\s:@/?#]{0,256}:/i;

/** Object keys whose string values are credentials whatever they look like (headers and config objects). */
const SECRET_KEY = /^(?:(?:proxy-)?authorization|x-api-key|cookie|set-cookie|api[-_]?key|password|passwd|client[-_]secret|access[-_]token|refresh[-_]token|private[-_]key)$/i;

const PEM_BEGIN = /-----BEGIN [A-Z0-9 ]{0,64}PRIVATE KEY-----/g;
const PEM_END = /-----END [A-Z0-9 ]{0,64}PRIVATE KEY-----/g;

/**
 * Replaces each private key block, BEGIN through END, with `[redacted]`; a block without an END
 * (a result cut before it) is redacted to the end of the text. Linear: once an END search fails,
 * no later block can have one either.
 */
function redactPem(text: string): string {
  if (!text.includes('PRIVATE KEY-----')) return text;
  let out = '';
  let from = 0;
  PEM_BEGIN.lastIndex = 0;
  for (let m = PEM_BEGIN.exec(text); m; m = PEM_BEGIN.exec(text)) {
    PEM_END.lastIndex = m.index + m[0].length;
    const end = PEM_END.exec(text);
    out += text.slice(from, m.index) + REDACTED;
    if (!end) return out;
    from = end.index + end[0].length;
    PEM_BEGIN.lastIndex = from;
  }
  return out + text.slice(from);
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export interface RedactorOptions {
  /** Exact values to remove (the server's secrets); empty ones are ignored. */
  secrets?: readonly string[] | undefined;
  /** Extra patterns (REDACT_PATTERNS); each match is replaced whole. */
  patterns?: readonly RegExp[] | undefined;
  /** Built-in rules turned off (REDACT_DISABLE). */
  disabled?: readonly RuleName[] | undefined;
}

export interface Redactor {
  /** The text with every secret replaced; the same string when nothing matched. */
  text(s: string): string;
  /**
   * A JSON-like value with every string redacted (object keys are kept; values under
   * credential-named keys are redacted whole); the same reference when nothing changed.
   * Class instances (Dates, Errors, Buffers) are returned as they are.
   */
  deep<T>(v: T): T;
}

export function createRedactor(opts: RedactorOptions = {}): Redactor {
  const disabled = new Set(opts.disabled ?? []);
  const rules = Object.entries(RULES)
    .filter(([name, r]) => r !== undefined && !disabled.has(name as RuleName))
    .map(([, r]) => r as Rule);
  const pem = !disabled.has('private_key');
  // Longest first, so a token inside a longer secret (a URL) goes with the longer one.
  const values = [...new Set(opts.secrets ?? [])].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  const exact = values.length > 0 ? new RegExp(values.map(escapeRegExp).join('|'), 'g') : undefined;
  const extra = (opts.patterns ?? []).map((p) => new RegExp(p.source, p.flags.includes('g') ? p.flags : `${p.flags}g`));

  const text = (s: string): string => {
    let out = s;
    if (exact) out = out.replace(exact, REDACTED);
    if (MAYBE_SECRET.test(out)) {
      for (const r of rules) out = out.replace(r.re, r.replacement);
      if (pem) out = redactPem(out);
    }
    for (const re of extra) out = out.replace(re, REDACTED);
    return out;
  };

  const deep = (v: unknown): unknown => {
    if (typeof v === 'string') return text(v);
    if (v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) {
      let changed = false;
      const arr = v.map((x) => {
        const y = deep(x);
        if (y !== x) changed = true;
        return y;
      });
      return changed ? arr : v;
    }
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) return v;
    let out: Record<string, unknown> | undefined;
    for (const [k, x] of Object.entries(v)) {
      const y = typeof x === 'string' && x !== '' && SECRET_KEY.test(k) ? credentialValue(x) : deep(x);
      if (y !== x) (out ??= { ...(v as Record<string, unknown>) })[k] = y;
    }
    return out ?? v;
  };

  return { text, deep: deep as <T>(v: T) => T };
}

/** A header-like value keeps its scheme (`Bearer [redacted]`); anything else goes whole. */
function credentialValue(v: string): string {
  if (v === REDACTED) return v;
  const scheme = /^(bearer|basic|token|digest|negotiate)\s+/i.exec(v);
  return scheme ? `${scheme[0]}${REDACTED}` : REDACTED;
}

/** Built-in patterns only: for stored text and logs before the composition root installs the configured one. */
export const defaultRedactor = createRedactor();

/**
 * REDACT_PATTERNS: regular expressions separated by whitespace (write a space inside one as
 * `\s` or `\x20`; `(?i:...)` makes part of one case-insensitive). Throws with the pattern named.
 */
export function parseRedactPatterns(value: string | undefined): RegExp[] {
  const out: RegExp[] = [];
  for (const source of (value ?? '').split(/\s+/).filter(Boolean)) {
    let re: RegExp;
    try {
      re = new RegExp(source, 'g');
    } catch (e: unknown) {
      throw new Error(`${JSON.stringify(source)} is not a valid regular expression (${(e as Error).message})`, { cause: e });
    }
    // A pattern matching the empty string would insert [redacted] between every character.
    if (re.test('')) throw new Error(`${JSON.stringify(source)} matches the empty string`);
    out.push(re);
  }
  return out;
}

/** REDACT_DISABLE: built-in rule names, comma separated. Throws naming the unknown ones. */
export function parseDisabledRules(value: string | undefined): RuleName[] {
  const names = (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(RULE_NAMES as string[]).includes(n));
  if (unknown.length > 0) throw new Error(`unknown rule ${unknown.map((n) => JSON.stringify(n)).join(', ')} (known: ${RULE_NAMES.join(', ')})`);
  return names as RuleName[];
}
