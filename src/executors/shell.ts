import { spawn } from 'node:child_process';

import { type TaskContext, TaskFailedError, type TaskFunction, type TaskOutcome } from './executor.ts';
import { OutputTail } from './output-tail.ts';

/** After the command exits, how long its output may still arrive from children holding the pipes. */
const outputDrainMs = 1_000;

export interface ShellSettings {
  outputLimitBytes: number;
  killGraceMs: number;
}

interface ShellPayload {
  command: string | string[];
  cwd?: string;
  env?: Record<string, string>;
}

function parsePayload(payload: Record<string, unknown>): ShellPayload {
  const { command, cwd, env } = payload;
  const isArgv = Array.isArray(command) && command.length > 0 && command.every((part) => typeof part === 'string');
  if (typeof command !== 'string' && !isArgv) {
    throw new TaskFailedError('payload.command must be a string or a non-empty array of strings', {});
  }
  if (cwd !== undefined && typeof cwd !== 'string') throw new TaskFailedError('payload.cwd must be a string', {});
  if (env !== undefined && (typeof env !== 'object' || env === null || Array.isArray(env))) {
    throw new TaskFailedError('payload.env must be an object of strings', {});
  }
  return payload as unknown as ShellPayload;
}

/**
 * The `shell` task: a command string run by /bin/sh -c, or an argv array. It runs
 * in its own process group, so an abort (timeout, cancel, shutdown) reaches the
 * whole tree: SIGTERM to the group, SIGKILL after the grace period.
 */
export function shellTask(settings: ShellSettings): TaskFunction {
  return (payload, context) => runShell(parsePayload(payload), context, settings);
}

function runShell(payload: ShellPayload, context: TaskContext, settings: ShellSettings): Promise<TaskOutcome> {
  const [file, ...args] = typeof payload.command === 'string' ? ['/bin/sh', '-c', payload.command] : payload.command;
  const stdout = new OutputTail(settings.outputLimitBytes);
  const stderr = new OutputTail(settings.outputLimitBytes);
  return new Promise((resolve, reject) => {
    const child = spawn(file!, args, {
      cwd: payload.cwd,
      env: { ...process.env, ...payload.env, BATON_RUN_ID: context.runId, BATON_SCHEDULE: context.scheduleName },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));

    let killTimer: NodeJS.Timeout | undefined;
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // the group is gone already
      }
    };
    const onAbort = () => {
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), settings.killGraceMs);
    };
    if (context.signal.aborted) onAbort();
    else context.signal.addEventListener('abort', onAbort, { once: true });

    child.on('error', (error) => {
      context.signal.removeEventListener('abort', onAbort);
      reject(new TaskFailedError(`could not start ${file}: ${error.message}`, {}));
    });
    // 'close' waits until every holder of the pipes is done, so output of background
    // children is kept; but a child that left its group must not hold the run open.
    let exited: { exitCode: number | null; signal: NodeJS.Signals | null } | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      context.signal.removeEventListener('abort', onAbort);
      clearTimeout(killTimer);
      clearTimeout(drainTimer);
      // Whatever the group left behind dies with an aborted run.
      if (context.signal.aborted) killGroup('SIGKILL');
      const { exitCode, signal } = exited!;
      const outcome: TaskOutcome = { exitCode, signal, stdout: stdout.toString(), stderr: stderr.toString() };
      if (exitCode === 0) resolve(outcome);
      else reject(new TaskFailedError(signal ? `killed by ${signal}` : `exit code ${exitCode}`, outcome));
    };
    child.on('exit', (exitCode, signal) => {
      exited = { exitCode, signal };
      drainTimer = setTimeout(finish, outputDrainMs);
    });
    child.on('close', () => {
      if (drainTimer) finish();
    });
  });
}
