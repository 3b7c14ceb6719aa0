/**
 * `cco export [session-id]`: GET /api/export to a file or stdout, with progress on stderr (a
 * redrawn line on a terminal, a line every few seconds otherwise). The filters are the list's.
 * Exit codes: 0 written in full; 1 the server cut the export short (the output is truncated);
 * 3 usage or connection errors, or a refused request.
 */
import fs from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Command, Option } from 'commander';
import { ApiClient, ClientError, clientSettings, EXIT } from '../client.ts';

const FILTERS = ['status', 'project-type', 'owner', 'source', 'tool', 'created-after', 'created-before', 'updated-after', 'updated-before', 'contains', 'q'] as const;

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

/** Counts bytes and lines going through and reports them (the total is unknown while streaming: an activity bar, not a percentage). */
export class Progress extends Transform {
  bytes = 0;
  lines = 0;
  readonly #started = Date.now();
  #last = 0;
  #tick = 0;
  constructor(private readonly err: NodeJS.WriteStream, private readonly everyMs: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (e?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) this.lines++;
    const now = Date.now();
    if (now - this.#last >= this.everyMs) {
      this.#last = now;
      this.report(false);
    }
    done(null, chunk);
  }
  line(): string {
    const s = Math.max(0.001, (Date.now() - this.#started) / 1000);
    return `${formatBytes(this.bytes)}, ${this.lines.toLocaleString('en')} lines, ${formatBytes(this.bytes / s)}/s, ${s.toFixed(1)} s`;
  }
  report(final: boolean): void {
    if (this.err.isTTY) {
      const width = 20;
      const pos = this.#tick++ % width;
      const bar = final ? '='.repeat(width) : ' '.repeat(pos) + '<=>' + ' '.repeat(width - pos);
      this.err.write(`\r\x1b[2K[${bar.slice(0, width)}] ${this.line()}${final ? '\n' : ''}`);
    } else this.err.write(`export: ${this.line()}${final ? ' (done)' : ''}\n`);
  }
}

interface ExportFlags {
  format: string;
  table?: string;
  output?: string;
  server?: string;
  key?: string;
  [filter: string]: string | undefined;
}

export function exportCommand(): Command {
  const cmd = new Command('export')
    .description('Export sessions with their messages and tool logs (GET /api/export): JSON, CSV or zip, to a file or stdout.')
    .argument('[session-id]', 'only this session (else every session the filters select)')
    .addOption(new Option('--format <format>', 'json (one document), csv (one table) or zip (three CSV files)').choices(['json', 'csv', 'zip']).default('json'))
    .addOption(new Option('--table <table>', 'with --format csv: which table').choices(['sessions', 'messages', 'logs']))
    .option('-o, --output <file>', 'write here (default: stdout)');
  for (const f of FILTERS) cmd.option(`--${f} <value>`, f === 'q' ? 'full-text search of messages and tool logs' : `filter: ${f.replace(/-/g, '_')} (as GET /api/sessions)`);
  return cmd
    .option('--server <url>', 'the server (default CCO_URL, else http://127.0.0.1:3000)')
    .option('--key <key>', 'API key (default CCO_API_KEY)')
    .addHelpText('after', '\nExit codes: 0 written in full; 1 the export was cut short (output truncated); 3 usage or connection errors.')
    .action(async (sessionId: string | undefined, o: ExportFlags) => {
      process.exitCode = await runExport(sessionId, o).catch((e: unknown) => {
        if (!(e instanceof ClientError)) throw e;
        process.stderr.write(`cco: ${e.message}\n`);
        return EXIT.usage;
      });
    });
}

async function runExport(sessionId: string | undefined, o: ExportFlags): Promise<number> {
  if (o.format === 'zip' && !o.output && process.stdout.isTTY) throw new ClientError('a zip is not for a terminal: use -o <file> or redirect stdout');
  const qs = new URLSearchParams({ format: o.format });
  if (o.table) qs.set('table', o.table);
  if (sessionId) qs.set('session_id', sessionId);
  for (const f of FILTERS) {
    const v = o[f.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())];
    if (v !== undefined) qs.set(f.replace(/-/g, '_'), v);
  }
  const client = new ApiClient(clientSettings(o, process.env));
  const res = await client.download(`/api/export?${qs.toString()}`);
  const progress = new Progress(process.stderr, process.stderr.isTTY ? 200 : 5000);
  const out = o.output ? fs.createWriteStream(o.output) : process.stdout;
  try {
    await pipeline(Readable.fromWeb(res.body! as import('node:stream/web').ReadableStream), progress, out);
  } catch (e: unknown) {
    progress.report(false);
    process.stderr.write(`\ncco: the export was cut short after ${formatBytes(progress.bytes)} (${(e as Error).message}); the output is truncated\n`);
    return EXIT.failed;
  }
  progress.report(true);
  return EXIT.completed;
}
