/**
 * Secrets the server must be able to read back (a webhook's signing secret signs every delivery,
 * so it cannot be hashed like an API key) are stored sealed: AES-256-GCM under a key that is not
 * in the database. The key is SECRETS_KEY when set (every process of a scaled-out deployment needs
 * the same one), else a random key made once in DATA_DIR/secrets.key (mode 0600).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const PREFIX = 'v1.';
const KEY_FILE = 'secrets.key';

export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('a secret box key is 32 bytes');
    this.#key = key;
  }

  /** SECRETS_KEY (any text of 32+ characters; hashed to 32 bytes), or the data folder's key file. */
  static load(o: { setting?: string | undefined; dataDir: string }): SecretBox {
    if (o.setting) return new SecretBox(createHash('sha256').update(o.setting).digest());
    const file = path.join(o.dataDir, KEY_FILE);
    try {
      return new SecretBox(Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64'));
    } catch (e: unknown) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    fs.mkdirSync(o.dataDir, { recursive: true });
    const key = randomBytes(32);
    try {
      // wx: two processes starting at once on one folder keep the first one's key.
      fs.writeFileSync(file, key.toString('base64'), { mode: 0o600, flag: 'wx' });
      return new SecretBox(key);
    } catch (e: unknown) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      return new SecretBox(Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64'));
    }
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return PREFIX + Buffer.concat([iv, c.getAuthTag(), body]).toString('base64url');
  }

  /** The plain text; throws when sealed under another key (SECRETS_KEY differs between processes). */
  open(sealed: string): string {
    if (!sealed.startsWith(PREFIX)) throw new Error('not a sealed secret');
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64url');
    const d = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, 12));
    d.setAuthTag(raw.subarray(12, 28));
    try {
      return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
    } catch {
      throw new Error('cannot open a sealed secret: it was sealed under another key (is SECRETS_KEY the same on every process?)');
    }
  }

  static isSealed(value: string): boolean {
    return value.startsWith(PREFIX);
  }
}
