import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRedactor, defaultRedactor, parseDisabledRules, parseRedactPatterns, REDACTED } from './redact.ts';

// Fake values built at run time, so the repository holds nothing a secret scanner would flag.
const rep = (s: string, n: number) => s.repeat(n);

describe('redactor', () => {
  test('keeps the context around a header value and a URL password', () => {
    const tok = rep('t0K', 8);
    assert.equal(defaultRedactor.text(`curl -H "Authorization: Bearer ${tok}" x`), `curl -H "Authorization: Bearer ${REDACTED}" x`);
    assert.equal(defaultRedactor.text(`{"authorization":"Basic ${tok}"}`), `{"authorization":"Basic ${REDACTED}"}`);
    assert.equal(defaultRedactor.text(`X-Api-Key: ${tok}`), `X-Api-Key: ${REDACTED}`);
    assert.equal(defaultRedactor.text(`postgres://app:${tok}@db:5432/x`), `postgres://app:${REDACTED}@db:5432/x`);
  });

  test('leaves ordinary text, URLs with ports and kebab-case names alone (the same string back)', () => {
    for (const s of ['plain text', 'https://host:8080/a@b', 'task-something-long-name-here-and-more', 'a risk-assessment-of-the-new-design', 'cco_short']) {
      assert.equal(defaultRedactor.text(s), s);
    }
    const v = { a: ['x', { b: 'y' }], n: 1 };
    assert.equal(defaultRedactor.deep(v), v);
  });

  test('redacts values under credential-named keys whole, keeping a scheme', () => {
    const out = defaultRedactor.deep({ headers: { Authorization: 'Bearer abc', 'x-api-key': 'k1' }, password: 'pw', n: 2 });
    assert.deepEqual(out, { headers: { Authorization: `Bearer ${REDACTED}`, 'x-api-key': REDACTED }, password: REDACTED, n: 2 });
  });

  test('a private key block goes whole, and a block cut before its END goes to the end', () => {
    const begin = ['-----BEGIN EC', 'PRIVATE', 'KEY-----'].join(' ');
    const end = ['-----END EC', 'PRIVATE', 'KEY-----'].join(' ');
    const body = rep('QUJD', 20);
    assert.equal(defaultRedactor.text(`a\n${begin}\n${body}\n${end}\nb`), `a\n${REDACTED}\nb`);
    assert.equal(defaultRedactor.text(`a\n${begin}\n${body}`), `a\n${REDACTED}`);
  });

  test('server secrets, extra patterns and disabled rules', () => {
    const r = createRedactor({ secrets: ['srv-' + rep('s', 10)], patterns: parseRedactPatterns('acme_[0-9]{6} (?i:INTERNAL)-\\d+'), disabled: ['aws'] });
    const aws = 'AKIA' + rep('Z', 16);
    assert.equal(r.text(`srv-${rep('s', 10)} acme_123456 internal-42 ${aws}`), `${REDACTED} ${REDACTED} ${REDACTED} ${aws}`);
    assert.notEqual(defaultRedactor.text(aws), aws);
  });

  test('settings are checked: invalid, empty-matching or unknown ones are refused by name', () => {
    assert.throws(() => parseRedactPatterns('ok_[0-9]+ (unclosed'), /"\(unclosed" is not a valid regular expression/);
    assert.throws(() => parseRedactPatterns('x*'), /matches the empty string/);
    assert.throws(() => parseDisabledRules('aws,nope'), /unknown rule "nope"/);
    assert.deepEqual(parseDisabledRules(' aws , github '), ['aws', 'github']);
  });

  test('hostile 1 MB inputs finish quickly (every pattern is linear)', () => {
    const begin = ['-----BEGIN', 'PRIVATE', 'KEY-----'].join(' ');
    const inputs = [
      rep('a', 1e6), rep(' ', 1e6), rep('sk-', 4e5), rep('sk-' + rep('x', 19) + ' ', 4e4), rep('a://b:', 2e5), rep('https://u:', 1e5),
      'x://' + rep('a', 1e6) + ':', rep(':', 1e6), rep('Authorization: ', 7e4), rep('authorization:bearer ', 5e4), rep(begin, 4e4),
      rep('AKIA', 3e5), rep('ghp_', 3e5), rep('-', 1e6), rep('@', 1e6),
    ];
    const r = createRedactor({ secrets: [rep('q', 12)] });
    for (const s of inputs) {
      const t = performance.now();
      r.text(s);
      const ms = performance.now() - t;
      // Generous for a loaded machine; a quadratic pattern takes minutes on these.
      assert.ok(ms < 2000, `${JSON.stringify(s.slice(0, 20))}… took ${ms.toFixed(0)} ms`);
    }
  });
});
