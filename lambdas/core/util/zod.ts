/**
 * zod, as the engine and the CLI use it (`import * as z from '…/util/zod.js'`): the mini build with
 * the full build's English messages. Every CLI command reads its environment and most read a
 * manifest, so zod loads on every start; the full build's set-up took ~70 ms of each (docs/
 * performance.md, seventeenth session). The checks and messages are the same (both are zod's core).
 * Re-exported name by name, so that the bundle keeps only what is used (not every locale).
 */
import { coerce, config, gte, int, lte, minLength, nonnegative, number, string } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());

export * from 'zod/mini';

/** A string of at least one character (the manifest's and the media snapshot's names and keys). */
export const nonEmptyString = () => string().check(minLength(1));

/** A whole number, 0 or more (counts and sizes). */
export const nonNegativeInt = () => number().check(int(), nonnegative());

/** A whole number from `min` to `max`, read from text (environment variables). */
export const wholeNumberText = (min: number, max: number) => coerce.number().check(int(), gte(min), lte(max));
