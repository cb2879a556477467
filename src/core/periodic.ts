/**
 * Calls `fn` every `intervalMs` (and at once, with `now`), one call at a time: a call still
 * running when the next is due delays it. `stop()` ends the timer and waits for the call in flight.
 */
export function periodic(
  fn: () => Promise<void>,
  intervalMs: number,
  { now = false }: { now?: boolean } = {},
): { stop(): Promise<void> } {
  let running: Promise<void> = now ? fn() : Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(fn);
  }, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
