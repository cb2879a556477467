import { execFileSync, spawn } from 'node:child_process';

import { isCredentialVariable } from '../config/load-config.ts';
import { refused, type TaskContext, type TaskDefinition, TaskFailedError, type TaskOutcome } from './executor.ts';
import { commandPattern, envPattern, shellRefusal } from './shell-policy.ts';

/** After the command exits, how long its output may still arrive from children holding the pipes. */
const outputDrainMs = 1_000;

export interface ShellSettings {
  killGraceMs: number;
  /** Allow-list patterns (see shell-policy.ts); empty allows every command. */
  shellAllow: readonly string[];
  /** Under an allow-list, the variables a payload may set: names, or prefixes ending in `*`. */
  shellEnvAllow: readonly string[];
  /** The OS user commands run as (the worker must be root); unset: the worker's own. */
  shellUser?: string | undefined;
}

interface ShellPayload {
  command: string | string[];
  cwd?: string;
  env?: Record<string, string>;
}

/** The payload was checked when the schedule or run was written; this guards the worker all the same. */
function parsePayload(payload: Record<string, unknown>): ShellPayload {
  const { command, cwd, env } = payload;
  const isArgv = Array.isArray(command) && command.length > 0 && command.every((part) => typeof part === 'string');
  if (typeof command !== 'string' && !isArgv) {
    throw refused('payload.command must be a string or a non-empty array of strings');
  }
  if (cwd !== undefined && typeof cwd !== 'string') throw refused('payload.cwd must be a string');
  if (env !== undefined && (typeof env !== 'object' || env === null || Array.isArray(env))) {
    throw refused('payload.env must be an object of strings');
  }
  return payload as unknown as ShellPayload;
}

/**
 * The `shell` task: a command string run by /bin/sh -c, or an argv array, if the
 * worker's allow-list admits it. It runs in its own process group, so an abort
 * (timeout, cancel, shutdown) reaches the whole tree: SIGTERM to the group, SIGKILL
 * after the grace period.
 */
export function shellTask(settings: ShellSettings): TaskDefinition {
  const allow = settings.shellAllow.map(commandPattern);
  const envAllow = settings.shellEnvAllow.map(envPattern);
  const user = settings.shellUser === undefined ? undefined : osUser(settings.shellUser);
  return {
    run: async (payload, context) => {
      const shell = parsePayload(payload);
      const refusal = shellRefusal(shell.command, shell.env, allow, envAllow);
      if (refusal) throw refused(refusal);
      return runShell(shell, context, settings.killGraceMs, user);
    },
  };
}

/** An OS user's ids, asked of `id` at the worker's start: an unknown user stops it there, not at a run. */
function osUser(name: string): { uid: number; gid: number } {
  const id = (flag: string) => {
    try {
      return Number(execFileSync('id', [flag, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim());
    } catch {
      throw new Error(`shellUser: no OS user "${name}" on this host`);
    }
  };
  return { uid: id('-u'), gid: id('-g') };
}

function childEnv(payload: ShellPayload, context: TaskContext): NodeJS.ProcessEnv {
  const inherited = Object.entries(process.env).filter(([name]) => !isCredentialVariable(name));
  return {
    ...Object.fromEntries(inherited),
    ...payload.env,
    BATON_RUN_ID: context.runId,
    BATON_SCHEDULE: context.scheduleName,
  };
}

/** On abort, the process group gets SIGTERM, then SIGKILL after the grace; disarm() when the run is over. */
function groupKiller(pid: number, signal: AbortSignal, killGraceMs: number) {
  let killTimer: NodeJS.Timeout | undefined;
  const kill = (sent: NodeJS.Signals) => {
    try {
      process.kill(-pid, sent);
    } catch {
      // the group is gone already
    }
  };
  const onAbort = () => {
    kill('SIGTERM');
    killTimer = setTimeout(() => kill('SIGKILL'), killGraceMs);
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return {
    kill,
    disarm: () => {
      signal.removeEventListener('abort', onAbort);
      clearTimeout(killTimer);
    },
  };
}

function runShell(
  payload: ShellPayload,
  context: TaskContext,
  killGraceMs: number,
  user: { uid: number; gid: number } | undefined,
): Promise<TaskOutcome> {
  const [file, ...args] = typeof payload.command === 'string' ? ['/bin/sh', '-c', payload.command] : payload.command;
  return new Promise((resolve, reject) => {
    const child = spawn(file!, args, {
      ...user,
      cwd: payload.cwd,
      env: childEnv(payload, context),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => context.stdout.write(chunk));
    child.stderr.on('data', (chunk: Buffer) => context.stderr.write(chunk));

    const group = groupKiller(child.pid!, context.signal, killGraceMs);
    child.on('error', (error) => {
      group.disarm();
      reject(new TaskFailedError(`could not start ${file}: ${error.message}`));
    });
    // 'close' waits until every holder of the pipes is done, so output of background
    // children is kept; but a child that left its group must not hold the run open.
    let exited: { exitCode: number | null; signal: NodeJS.Signals | null } | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      group.disarm();
      clearTimeout(drainTimer);
      // Whatever the group left behind dies with an aborted run.
      if (context.signal.aborted) group.kill('SIGKILL');
      const { exitCode, signal } = exited!;
      const outcome: TaskOutcome = { exitCode, signal };
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
