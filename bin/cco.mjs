#!/usr/bin/env node
// Entry point of the `cco` command: runs the compiled server in dist/ (`npm run build`;
// `npm start` and the test runner build it when the sources are newer). No TypeScript at run time.
import fs from 'node:fs';

process.setSourceMapsEnabled(true);
const entry = new URL('../dist/cli/index.js', import.meta.url);
if (!fs.existsSync(entry)) {
  process.stderr.write('cco: the server is not built (no dist/). In a clone run `npm run build` (or `npm start`, which builds it).\n');
  process.exit(1);
}
const { runCli } = await import(entry.href);
await runCli(process.argv);
