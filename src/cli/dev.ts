// `npm run dev`: the CLI from the TypeScript sources through tsx, restarted by node --watch on changes.
import { runCli } from './index.ts';

await runCli(process.argv);
