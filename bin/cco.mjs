#!/usr/bin/env node
// Entry point of the `cco` command. The sources are TypeScript run through tsx,
// so `npm install && npm start` needs no separate build step.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli/index.ts');
await runCli(process.argv);
