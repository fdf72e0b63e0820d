#!/usr/bin/env node
// `npm test` drives the admin page in a real headless Chromium: Debian's `chromium` package. On a
// fresh machine (as root, with apt) it is installed here, so the README's `npm ci && npm test` stays
// the whole set-up; elsewhere this says what to install and the browser test names what is missing.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (existsSync(path)) process.exit(0);
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
if (!isRoot || !hasApt) {
  process.stderr.write(`chromium is not at ${path}: install Debian's package (apt-get install chromium) or set CHROMIUM_PATH; the browser test needs it\n`);
  process.exit(0);
}
process.stderr.write("Installing Debian's chromium for the browser test…\n");
execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'] });
execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
