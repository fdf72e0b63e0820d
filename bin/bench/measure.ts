import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

export interface Measured {
  /** Wall clock from spawn to exit. */
  readonly seconds: number;
  /** Peak resident memory of the whole process tree (bytes); see peakTracker. */
  readonly peakRssBytes: number;
  readonly stdout: string;
  readonly stderr: string;
}

export class CommandFailed extends Error {}

const POLL_MS = 20;
const KEEP_OUTPUT = 1 << 20;
const running = new Set<ChildProcess>();
let stopping = false;

/** For Ctrl-C: stop whatever command is being measured, and start no other while cleaning up. */
export function killRunning(): void {
  stopping = true;
  for (const child of running) child.kill('SIGTERM');
}

function readStatusKb(pid: number): { rss: number; hwm: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined; // exited between listing and reading
  }
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return { rss: field('VmRSS'), hwm: field('VmHWM') };
}

const HAS_CHILDREN_FILE = existsSync(`/proc/${process.pid}/task/${process.pid}/children`);

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  if (HAS_CHILDREN_FILE) {
    // A child may have been forked by any thread of the process, so every task is asked.
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      return out;
    }
    for (const tid of tasks) {
      try {
        for (const p of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ')) if (p.trim()) out.push(Number(p));
      } catch {
        // task gone
      }
    }
    return out;
  }
  // Kernels without CONFIG_PROC_CHILDREN: find the children by parent pid.
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // process gone
    }
  }
  return out;
}

/**
 * Peak memory of a process tree, sampled every POLL_MS from /proc. Two readings are combined: the
 * largest sum of VmRSS over the tree seen at one sample (what the tree held at once), and the
 * largest per-process VmHWM (the kernel's own high-water mark, which catches a spike of a single
 * process between two samples). For the one-process commands measured here the second is exact.
 */
function peakTracker(root: number): { sample(): void; peakBytes(): number } {
  let maxSumKb = 0;
  let maxHwmKb = 0;
  return {
    sample() {
      let sum = 0;
      const queue = [root];
      const seen = new Set<number>();
      while (queue.length) {
        const pid = queue.pop()!;
        if (seen.has(pid)) continue;
        seen.add(pid);
        const status = readStatusKb(pid);
        if (!status) continue;
        sum += status.rss;
        maxHwmKb = Math.max(maxHwmKb, status.hwm);
        queue.push(...childrenOf(pid));
      }
      maxSumKb = Math.max(maxSumKb, sum);
    },
    peakBytes: () => Math.max(maxSumKb, maxHwmKb) * 1024,
  };
}

export interface MeasureOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Send stdout straight to /dev/null (the COPY floor): nothing passes through this process. */
  readonly discardStdout?: boolean;
}

/** Runs a command to completion, timing it and sampling its memory; a non-zero exit throws CommandFailed. */
export function measure(command: string, args: readonly string[], options: MeasureOptions = {}): Promise<Measured> {
  return new Promise((resolve, reject) => {
    if (stopping) return reject(new CommandFailed('interrupted'));
    const started = performance.now();
    const child = spawn(command, args, { env: options.env ?? process.env, stdio: ['ignore', options.discardStdout ? 'ignore' : 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout = (stdout + chunk.toString()).slice(-KEEP_OUTPUT);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-KEEP_OUTPUT);
    });
    const tracker = child.pid === undefined ? undefined : peakTracker(child.pid);
    tracker?.sample();
    const timer = setInterval(() => tracker?.sample(), POLL_MS);
    let seconds = 0;
    child.once('exit', () => {
      seconds = (performance.now() - started) / 1000;
      clearInterval(timer);
    });
    child.once('error', (error) => {
      clearInterval(timer);
      running.delete(child);
      reject(new CommandFailed(`${command} could not start: ${error.message}`));
    });
    // 'close' comes after 'exit' once stdout/stderr are drained, so the output is complete.
    child.once('close', (code, signal) => {
      running.delete(child);
      if (code !== 0) {
        const tail = stderr.trim().split('\n').slice(-4).join(' | ');
        // The caller names the method; the program and its last words say what went wrong.
        const program = path.basename(command) === path.basename(process.execPath) ? path.basename(args[0] ?? command) : path.basename(command);
        reject(new CommandFailed(`${program} exited with ${code ?? signal}${tail ? `: ${tail}` : ''}`));
        return;
      }
      resolve({ seconds, peakRssBytes: tracker?.peakBytes() ?? 0, stdout, stderr });
    });
  });
}
