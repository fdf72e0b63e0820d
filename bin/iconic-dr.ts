#!/usr/bin/env -S npx tsx
import { main } from './cli/program.js';

// The AWS SDK warns on every run under Node 20 that future releases need Node 22. The CLI supports
// Node >= 20 (Lambdas run on 22), so that multi-line notice would only bury the one-line output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// `iconic-dr list | head` closes stdout early: that is the reader's choice, not a failure to report.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await main(process.argv.slice(2));
