#!/usr/bin/env node
// Runs the TypeScript CLI through tsx so `npx iconic-dr` works straight after `npm ci`, with no build step.
import { register } from 'tsx/esm/api';

register();
await import(new URL('./iconic-dr.ts', import.meta.url).href);
