import { Command } from 'commander';
import { loadConfig } from '../../config.ts';

export function doctorCommand(): Command {
  return new Command('doctor')
    .description('Check the installed Claude Code: version, session isolation, one real turn, tool capture and resume.')
    .option('--model-url <url>', 'Anthropic-compatible API to use for the check (e.g. the scripted model server)')
    .option('--scripted', 'The model server is the project\'s scripted one (npm run model-server): use its test script', false)
    .option('--timeout <seconds>', 'Time limit per turn', '120')
    .action(async (opts: { modelUrl?: string; scripted: boolean; timeout: string }) => {
      const config = loadConfig();
      // Loaded here: the doctor runs a real server (main.ts), which the other verbs need not load.
      const { runDoctor } = await import('../../runner/doctor.ts');
      const findings = await runDoctor({ runner: config.runner, modelUrl: opts.modelUrl, scripted: opts.scripted, timeoutS: Number(opts.timeout) || 120 }).catch(
        (e: unknown) => [{ ok: false, check: 'doctor', detail: (e as Error).message }],
      );
      for (const f of findings) process.stdout.write(`${f.ok ? 'ok  ' : 'FAIL'} ${f.check}: ${f.detail}\n`);
      const failed = findings.filter((f) => !f.ok).length;
      process.stdout.write(failed ? `\n${failed} problem(s) found.\n` : '\nClaude Code is ready.\n');
      process.exitCode = failed ? 1 : 0;
    });
}
