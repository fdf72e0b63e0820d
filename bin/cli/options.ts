import { createInterface } from 'node:readline/promises';
import { InvalidArgumentError, Option } from 'commander';
import { ConfirmationRequiredError } from '../../lambdas/core/errors.js';
import { loadEnv } from './config.js';

/** A commander parser for a whole number from 1 to `max`, named in its error. */
export function positiveInt(name: string, max = 1_000_000) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`${name} must be a whole number from 1 to ${max}`);
    return n;
  };
}

export const jsonOption = () => new Option('--json', 'print one JSON document on stdout instead of text (errors too: {"error": {code, message, exitCode}})');

/**
 * The rule for every command that overwrites something (DESIGN §5): `--yes` or
 * SKIP_RESTORE_CONFIRMATION=true goes ahead; a terminal is asked for "yes"; anything else is refused
 * (exit 2) with `refusal`, before any work when `question` is undefined.
 */
export async function confirm(question: string | undefined, refusal: string, cancelled: string, yes: boolean | undefined): Promise<void> {
  if (yes || loadEnv().SKIP_RESTORE_CONFIRMATION) return;
  if (!process.stdin.isTTY) throw new ConfirmationRequiredError(refusal);
  if (question === undefined) return;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question}\nType "yes" to continue: `);
    if (answer.trim().toLowerCase() !== 'yes') throw new ConfirmationRequiredError(cancelled);
  } finally {
    rl.close();
  }
}
