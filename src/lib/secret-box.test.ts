import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { SecretBox } from './secret-box.ts';

test('a sealed secret opens with the same key only, and never shows its plain text', () => {
  const box = SecretBox.load({ setting: 'x'.repeat(40), dataDir: '/nonexistent' });
  const sealed = box.seal('whsec_plain-secret');
  assert.ok(SecretBox.isSealed(sealed));
  assert.ok(!sealed.includes('plain-secret'));
  assert.notEqual(box.seal('whsec_plain-secret'), sealed, 'a fresh IV each time');
  assert.equal(box.open(sealed), 'whsec_plain-secret');
  const other = SecretBox.load({ setting: 'y'.repeat(40), dataDir: '/nonexistent' });
  assert.throws(() => other.open(sealed), /SECRETS_KEY/);
  assert.throws(() => box.open(sealed.slice(0, -2) + 'AA'), /another key/, 'tampering is detected');
});

test('without SECRETS_KEY a key is made once in the data folder (0600) and reused', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cco-box-'));
  try {
    const a = SecretBox.load({ dataDir: dir });
    const file = path.join(dir, 'secrets.key');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const b = SecretBox.load({ dataDir: dir });
    assert.equal(b.open(a.seal('s')), 's');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
