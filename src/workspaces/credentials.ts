/**
 * Credentials for private repositories, from config only (GIT_CREDENTIALS).
 * They reach git as an HTTP Authorization header through GIT_CONFIG_* variables
 * of the git child process: never on its command line, never in the clone's
 * .git/config, never in a record, a log line or an error message.
 */

export class GitCredential {
  readonly #user: string;
  readonly #secret: string;

  constructor(
    /** `scheme://host[:port]/path-prefix/` the credential applies to. */
    readonly prefix: string,
    user: string,
    secret: string,
  ) {
    this.#user = user;
    this.#secret = secret;
  }

  /** True when this credential applies to the clone URL. */
  matches(url: string): boolean {
    return url.startsWith(this.prefix) || `${url}/` === this.prefix;
  }

  /** The header value git sends; only ever placed in a child's environment. */
  authorization(): string {
    return `Basic ${Buffer.from(`${this.#user}:${this.#secret}`).toString('base64')}`;
  }

  /** Every form the secret could take in text, for leak checks and redaction. */
  secretForms(): string[] {
    return [this.#secret, this.authorization().slice('Basic '.length)];
  }

  toJSON(): string {
    return `[credential for ${this.prefix}]`;
  }
}

/**
 * Parses GIT_CREDENTIALS: entries separated by commas or newlines, each in
 * git-credential-store form `https://user:token@host[/path-prefix]`. A user
 * name alone (`https://x-access-token:TOKEN@github.com`) is fine for tokens.
 */
export function parseGitCredentials(value: string | undefined): GitCredential[] {
  if (!value) return [];
  return value
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry, i) => {
      let u: URL;
      try {
        u = new URL(entry);
      } catch {
        throw new Error(`GIT_CREDENTIALS entry ${i + 1} is not a URL (expected https://user:token@host)`);
      }
      if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error(`GIT_CREDENTIALS entry ${i + 1} must be an https:// URL`);
      if (!u.password) throw new Error(`GIT_CREDENTIALS entry ${i + 1} has no token (expected https://user:token@host)`);
      const pathPrefix = u.pathname.endsWith('/') ? u.pathname : `${u.pathname}/`;
      return new GitCredential(`${u.protocol}//${u.host}${pathPrefix}`, decodeURIComponent(u.username), decodeURIComponent(u.password));
    });
}

/** The environment that makes git send the matching credential for `url`, or {} when none applies. */
export function credentialEnv(credentials: readonly GitCredential[], url: string): Record<string, string> {
  const c = credentials.filter((x) => x.matches(url)).sort((a, b) => b.prefix.length - a.prefix.length)[0];
  if (!c) return {};
  return {
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: `http.${c.prefix}.extraHeader`,
    GIT_CONFIG_VALUE_0: `Authorization: ${c.authorization()}`,
  };
}
