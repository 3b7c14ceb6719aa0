#!/usr/bin/env node
// Entry point of the `cco` command: runs the compiled server in dist/ (`npm run build`;
// `npm start` and the test runner build it when the sources are newer). No TypeScript at run time.
import fs from 'node:fs';
import v8 from 'node:v8';

process.setSourceMapsEnabled(true);
// Loading the modules at start-up allocates in bursts that grow V8's young generation to its
// largest size, which an idle server then keeps (about 10 MB of RSS, BENCHMARKS.md). Its growth
// is held while starting and restored (V8's default factor, 2) once the command runs, so a
// server under load grows it as before.
v8.setFlagsFromString('--semi-space-growth-factor=1');
const entry = new URL('../dist/cli/index.js', import.meta.url);
if (!fs.existsSync(entry)) {
  process.stderr.write('cco: the server is not built (no dist/). In a clone run `npm run build` (or `npm start`, which builds it).\n');
  process.exit(1);
}
const { runCli } = await import(entry.href);
await runCli(process.argv);
v8.setFlagsFromString('--semi-space-growth-factor=2');
