import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { waitFor } from './wait.ts';

const bin = fileURLToPath(new URL('../../bin/baton.js', import.meta.url));

export interface LogLine {
  msg: string;
  level: number;
  [key: string]: unknown;
}

/** A real `baton` process, as an operator runs it; its JSON log lines are kept for assertions. */
export interface BatonProcess {
  child: ChildProcess;
  pid: number;
  logs: LogLine[];
  /** Everything it wrote that was not a JSON log line. */
  output: string[];
  waitForLog(what: string, match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Sends the signal and waits for the exit; resolves with the exit code (or the signal's name). */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

export function spawnBaton(args: string[], env: Record<string, string> = {}): BatonProcess {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, BATON_LOG_LEVEL: 'debug', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const output: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        output.push(line);
      }
    });
  }
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  return {
    child,
    pid: child.pid!,
    logs,
    output,
    waitForLog: (what, match, timeoutMs = 15_000) => waitFor(what, () => logs.find(match), { timeoutMs }),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs a `baton` command to its end, as a script would: exit code and both streams. DATABASE_URL is unset unless given. */
export async function runBaton(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], {
      env: { ...process.env, DATABASE_URL: '', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
