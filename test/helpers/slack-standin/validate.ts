/**
 * Parameter decoding and the message-content checks Slack makes on chat.postMessage/update/
 * postEphemeral. Form-encoded calls carry object fields (blocks, metadata, files) as JSON strings,
 * JSON calls carry them as values: both are accepted, as Slack does.
 */
import type { ApiResult, SlackMetadata } from './types.ts';

export type Params = Record<string, unknown>;

export const MAX_TEXT = 40_000;
export const MAX_BLOCKS = 50;
export const MAX_SECTION_TEXT = 3_000;
export const MAX_BLOCKS_TEXT = 12_000;

export const str = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
/** Slack reads booleans from forms as "true"/"1". */
export const bool = (v: unknown): boolean => v === true || v === 'true' || v === '1' || v === 1;

/** A JSON field: a string is parsed, anything else is taken as already decoded. */
export function jsonField(v: unknown): { ok: true; value: unknown } | { ok: false } {
  if (typeof v !== 'string') return { ok: true, value: v };
  try {
    return { ok: true, value: JSON.parse(v) as unknown };
  } catch {
    return { ok: false };
  }
}

const fail = (error: string, messages: string[] = []): { result: ApiResult } => ({
  result: messages.length
    ? { ok: false, error, errors: messages, response_metadata: { messages: messages.map((m) => `[ERROR] ${m}`) } }
    : { ok: false, error },
});

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const BLOCK_TYPES = new Set([
  'section', 'context', 'divider', 'header', 'actions', 'image', 'rich_text', 'markdown', 'input', 'file', 'video', 'table', 'context_actions',
]);

/** Text object check: {type: mrkdwn|plain_text, text} within min..max characters. */
function textObject(t: unknown, at: string, max: number, errs: string[]) {
  if (!isObj(t) || (t.type !== 'mrkdwn' && t.type !== 'plain_text') || typeof t.text !== 'string') {
    errs.push(`must be a text object with type mrkdwn or plain_text [json-pointer:${at}]`);
  } else if (t.text.length === 0) errs.push(`must be more than 0 characters [json-pointer:${at}/text]`);
  else if (t.text.length > max) errs.push(`must be less than ${max + 1} characters [json-pointer:${at}/text]`);
}

/** The per-block rules Slack documents; returns its error messages (empty when the blocks pass). */
export function blockErrors(blocks: unknown[]): string[] {
  const errs: string[] = [];
  if (blocks.length > MAX_BLOCKS) errs.push(`no more than ${MAX_BLOCKS} items allowed [json-pointer:/blocks]`);
  blocks.forEach((b, i) => {
    const at = `/blocks/${i}`;
    if (!isObj(b) || typeof b.type !== 'string') return void errs.push(`must be an object with a type [json-pointer:${at}]`);
    if (!BLOCK_TYPES.has(b.type)) return void errs.push(`unsupported type: ${b.type} [json-pointer:${at}/type]`);
    if (typeof b.block_id === 'string' && b.block_id.length > 255) errs.push(`must be less than 256 characters [json-pointer:${at}/block_id]`);
    if (b.type === 'section') {
      if (b.text === undefined && b.fields === undefined) errs.push(`must provide either text or fields [json-pointer:${at}]`);
      if (b.text !== undefined) textObject(b.text, `${at}/text`, MAX_SECTION_TEXT, errs);
      if (b.fields !== undefined) {
        if (!Array.isArray(b.fields) || b.fields.length > 10) errs.push(`no more than 10 items allowed [json-pointer:${at}/fields]`);
        else b.fields.forEach((f, j) => textObject(f, `${at}/fields/${j}`, 2000, errs));
      }
    } else if (b.type === 'header') {
      textObject(b.text, `${at}/text`, 150, errs);
    } else if (b.type === 'context') {
      if (!Array.isArray(b.elements) || b.elements.length === 0 || b.elements.length > 10) errs.push(`must have 1 to 10 elements [json-pointer:${at}/elements]`);
    } else if (b.type === 'markdown') {
      if (typeof b.text !== 'string' || b.text.length === 0) errs.push(`must provide text [json-pointer:${at}/text]`);
    }
  });
  return errs;
}

/** All text the blocks carry (text objects' text, markdown blocks' text): Slack caps the sum. */
export function blocksTextLength(v: unknown): number {
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + blocksTextLength(x), 0);
  if (!isObj(v)) return 0;
  let n = 0;
  for (const [k, x] of Object.entries(v)) {
    if (k === 'text' && typeof x === 'string' && (v.type === 'mrkdwn' || v.type === 'plain_text' || v.type === 'markdown' || v.type === 'text')) n += x.length;
    else n += blocksTextLength(x);
  }
  return n;
}

export interface Content {
  text?: string;
  blocks?: unknown[];
  attachments?: unknown[];
  metadata?: SlackMetadata;
}

/** Decodes and checks text/blocks/attachments/metadata; absent fields stay undefined (chat.update keeps them). */
export function readContent(p: Params): { content: Content } | { result: ApiResult } {
  const content: Content = {};
  if (p.blocks !== undefined && p.blocks !== '') {
    const b = jsonField(p.blocks);
    if (!b.ok || !Array.isArray(b.value)) return fail('invalid_blocks_format');
    const errs = blockErrors(b.value);
    if (errs.length) return fail('invalid_blocks', errs);
    if (blocksTextLength(b.value) > MAX_BLOCKS_TEXT) return fail('msg_blocks_too_long');
    content.blocks = b.value;
  }
  if (p.attachments !== undefined && p.attachments !== '') {
    const a = jsonField(p.attachments);
    if (!a.ok || !Array.isArray(a.value)) return fail('invalid_attachments');
    content.attachments = a.value;
  }
  const text = str(p.text);
  if (text !== undefined) {
    if (text.length > MAX_TEXT) return fail('msg_too_long');
    content.text = text;
  }
  if (p.metadata !== undefined && p.metadata !== '') {
    const m = jsonField(p.metadata);
    if (!m.ok || !isObj(m.value) || typeof m.value.event_type !== 'string' || (m.value.event_payload !== undefined && !isObj(m.value.event_payload))) {
      return fail('invalid_metadata_format');
    }
    content.metadata = { event_type: m.value.event_type, event_payload: (m.value.event_payload ?? {}) as Record<string, unknown> };
  }
  return { content };
}

/** Slack refuses a message with nothing to show: no text, no blocks, no attachments. */
export const hasContent = (c: Content): boolean => !!c.text || !!c.blocks?.length || !!c.attachments?.length;
