/**
 * Confirmation of what cannot be undone (a redrive, a purge): `--yes` skips it; otherwise it is asked on a
 * terminal, and refused (exit 2) without one, so that a script never hangs on a question nobody sees.
 */
import { createInterface } from 'node:readline/promises';
import { EXIT, CliError } from './exit';

export async function confirm(question: string, options: { yes?: boolean; flag?: string }): Promise<void> {
  if (options.yes) return;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new CliError(`${question}: no terminal to confirm on`, EXIT.usage, `pass ${options.flag ?? '--yes'} to go ahead without a question`);
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(`${question} [y/N] `)).trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes') throw new CliError('not confirmed: nothing was changed', EXIT.failed);
  } finally {
    rl.close();
  }
}
