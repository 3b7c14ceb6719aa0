/** What the bot posts (src/slack/render.ts) and how it reads what people type (src/slack/parse.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { extractOptions, parseCommand, parseReply, plainText, startFrom } from '../src/slack/parse.ts';
import { answerPosts, escapeSlack, headPost, SECTION_CHARS, splitMrkdwn, toMrkdwn, turnNotice } from '../src/slack/render.ts';

const strip = (s: string) => s.replace(/```\n?/g, '').replace(/\s+/g, '');

test('broadcast mentions in agent output are neutralised, and Slack control characters escaped', () => {
  const out = toMrkdwn('Done. <!channel> <!here|here> <!everyone> and @channel @here @everyone; a<b && c>d');
  assert.doesNotMatch(out, /<!/);
  assert.doesNotMatch(out, /@(channel|here|everyone)\b/);
  assert.match(out, /&lt;!channel&gt;/);
  assert.match(out, /a&lt;b &amp;&amp; c&gt;d/);
  // Inside code too: a fence is no hiding place.
  const code = toMrkdwn('```sh\necho "<!here>" @channel\n```');
  assert.doesNotMatch(code, /<!here>|@channel\b/);
  assert.equal(escapeSlack('<&>'), '&lt;&amp;&gt;');
});

test('common Markdown becomes mrkdwn; links keep their target', () => {
  assert.equal(toMrkdwn('**bold** and [docs](https://example.com/a)'), '*bold* and <https://example.com/a|docs>');
  assert.equal(toMrkdwn('## Title'), '*Title*');
  assert.equal(toMrkdwn('- one\n- two'), '• one\n• two');
});

test('long text is split at paragraph breaks into pieces within the section limit, nothing lost', () => {
  const paragraphs = Array.from({ length: 40 }, (_, i) => `Paragraph ${i}: ${'word '.repeat(40 + (i % 7) * 20).trim()}.`);
  const text = paragraphs.join('\n\n');
  const pieces = splitMrkdwn(text);
  assert.ok(pieces.length > 3);
  for (const p of pieces) assert.ok(p.length <= SECTION_CHARS, `piece of ${p.length}`);
  assert.equal(strip(pieces.join('')), strip(text));
  // Each piece ends at a paragraph end, not mid-sentence.
  for (const p of pieces) assert.match(p, /\.$/);
});

test('a code block split across pieces is closed and reopened so each renders', () => {
  const lines = Array.from({ length: 400 }, (_, i) => `const v${i} = compute(${i}); // line ${i}`);
  const text = `Here is the file:\n\n\`\`\`ts\n${lines.join('\n')}\n\`\`\`\n\nThat is all.`;
  const pieces = splitMrkdwn(toMrkdwn(text));
  assert.ok(pieces.length >= 5);
  for (const p of pieces) {
    assert.ok(p.length <= SECTION_CHARS);
    assert.equal((p.match(/```/g) ?? []).length % 2, 0, `unbalanced fences in a piece: ${p.slice(0, 60)}`);
  }
  const joined = pieces.join('\n');
  for (const l of [lines[0]!, lines[199]!, lines[399]!, 'That is all.']) assert.ok(joined.includes(l), l);
});

test('one very long line is still split (at spaces, or hard), not cut', () => {
  const line = 'x'.repeat(7000);
  const pieces = splitMrkdwn(line);
  assert.equal(pieces.join(''), line);
  assert.ok(pieces.every((p) => p.length <= SECTION_CHARS));
});

test('answers become posts within Slack limits; past the threshold, a file with the start as comment', () => {
  const long = Array.from({ length: 60 }, (_, i) => `Section ${i}. ${'lorem ipsum '.repeat(30)}`).join('\n\n');
  const { posts, file } = answerPosts(long, { fileThreshold: 100_000, name: 'answer-1' });
  assert.equal(file, undefined);
  assert.ok(posts.length >= 2);
  for (const p of posts) {
    assert.ok(p.blocks!.length <= 50);
    const blockChars = p.blocks!.reduce((n, b) => n + (b.text?.text.length ?? 0) + (b.elements ?? []).reduce((m, e) => m + (e.type === 'button' ? 0 : e.text.length), 0), 0);
    assert.ok(blockChars < 12_000, `blocks of ${blockChars} characters`);
    assert.ok(p.text.length <= 4000);
  }
  assert.match(JSON.stringify(posts.at(-1)), /part \d+ of \d+/);
  const big = answerPosts(long, { fileThreshold: 5000, name: 'answer-2' });
  assert.equal(big.posts.length, 0);
  assert.equal(big.file!.content, long.trim());
  assert.match(big.file!.initialComment, /whole answer \([\d,]+ characters\) is in the attached file/);
});

test('the head post and the turn notice carry the link, status, cost, tools and files', () => {
  const head = headPost({ sessionId: 'abc', publicUrl: 'https://cco.example', starter: 'U1', prompt: 'fix <!here> it', status: 'running', turns: 2 });
  const json = JSON.stringify(head);
  assert.match(json, /https:\/\/cco.example\/sessions\/abc/);
  assert.match(json, /running · turn 2/);
  assert.doesNotMatch(json, /<!here>/);
  const n = turnNotice({ turnNumber: 2, status: 'completed', durationMs: 12_345, costUsd: 0.0123, tools: new Map([['Bash', 2], ['Edit', 1]]), filesChanged: 3, error: null }, 'https://cco.example', 'abc');
  assert.match(n.text, /Turn 2 done in 12\.3 s · \$0\.0123 · tools: Bash ×2, Edit · 3 files changed in all · dashboard/);
});

test('options and commands are read from what people type', () => {
  assert.deepEqual(parseCommand('status'), { kind: 'status' });
  assert.deepEqual(parseCommand('stop 1234abcd'), { kind: 'stop', id: '1234abcd' });
  assert.deepEqual(parseCommand(''), { kind: 'help' });
  assert.deepEqual(parseCommand('config repo=https://github.com/o/r mode=plan'), { kind: 'config', options: { repo: 'https://github.com/o/r', mode: 'plan' }, clear: false });
  assert.equal(parseCommand('config hello').kind, 'invalid');
  const start = parseCommand('repo=<https://github.com/o/r> ref=main mode=acceptEdits fix the bug in <@U1> parser');
  assert.deepEqual(start, { kind: 'start', prompt: 'fix the bug in @U1 parser', options: { repo: 'https://github.com/o/r', ref: 'main', mode: 'acceptEdits' } });
  assert.equal(startFrom('mode=yolo do it').kind, 'invalid');
  assert.equal(startFrom('repo=a path=b do it').kind, 'invalid');
  assert.equal(startFrom('ref=main do it').kind, 'invalid');
  assert.equal(startFrom('  ').kind, 'invalid');
  assert.equal(extractOptions('a=b keeps unknown words').rest, 'a=b keeps unknown words');
  assert.deepEqual(parseReply('Stop.'), { kind: 'stop' });
  assert.deepEqual(parseReply('done'), { kind: 'done' });
  assert.deepEqual(parseReply('stop the server please'), { kind: 'message', text: 'stop the server please' });
  assert.equal(plainText('a &lt;b&gt; &amp; <mailto:x@y.z|x@y.z>'), 'a <b> & mailto:x@y.z');
});
