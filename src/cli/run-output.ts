import type { Baton } from '../baton.ts';
import { BatonError } from '../core/errors.ts';
import { OutputCursor } from '../runs/output-cursor.ts';
import type { Run } from '../runs/run.table.ts';

/**
 * Prints a run's output, stdout to stdout and stderr to stderr: what it has now,
 * or, with `follow`, everything as it comes until the run is final. Resolves with
 * the run as last read.
 */
export async function printRunOutput(
  baton: Baton,
  runId: string,
  { follow, signal }: { follow: boolean; signal?: AbortSignal },
): Promise<Run> {
  const stdout = new OutputCursor();
  const stderr = new OutputCursor();
  let attempt = 0;
  const print = (run: Run) => {
    if (run.attempt > 1 && run.attempt !== attempt) process.stderr.write(`--- attempt ${run.attempt} ---\n`);
    attempt = run.attempt;
    write(process.stdout, stdout.next(run.stdout, Number(run.stdoutBytes)), 'stdout');
    write(process.stderr, stderr.next(run.stderr, Number(run.stderrBytes)), 'stderr');
  };
  if (follow) return baton.followRun(runId, print, signal);
  const run = await baton.getRun(runId);
  if (!run) throw new BatonError(`run "${runId}" does not exist`, 'not_found');
  print(run);
  return run;
}

function write(stream: NodeJS.WriteStream, { skipped, text }: { skipped: number; text: string }, name: string): void {
  if (skipped > 0) process.stderr.write(`[… ${skipped} bytes of ${name} not kept …]\n`);
  stream.write(text);
}
