// The live feed: GET /api/v1/events (server-sent events, docs/http.md "Live events"), shared by
// every page. Pages subscribe with their AbortSignal, so leaving a page unsubscribes it.

/** @typedef {'connecting' | 'live' | 'reconnecting'} LiveState */
/** @typedef {(data: any) => void} LiveHandler */

const eventTypes = ['schedule', 'run', 'runs', 'node', 'resync'];
/** How long to wait before opening a stream the browser gave up on (it retries others itself). */
const reopenAfterMs = 3000;

export class LiveFeed {
  /** @type {EventSource | null} */
  #source = null;
  /** @type {Map<string, Set<LiveHandler>>} */
  #handlers = new Map(eventTypes.map((type) => [type, new Set()]));
  #interrupted = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #reopenTimer;
  #callbacks;

  /**
   * @param {{ onState: (state: LiveState) => void, onReconnect: () => void, onRefused: () => void }} callbacks
   *   onReconnect: the stream is back after a break, in which events may have been missed;
   *   onRefused: the server refused the stream (the session may be gone)
   */
  constructor(callbacks) {
    this.#callbacks = callbacks;
  }

  open() {
    this.#source?.close();
    this.#callbacks.onState(this.#interrupted ? 'reconnecting' : 'connecting');
    const source = new EventSource('/api/v1/events');
    this.#source = source;
    source.addEventListener('open', () => {
      this.#callbacks.onState('live');
      if (this.#interrupted) {
        this.#interrupted = false;
        this.#callbacks.onReconnect();
      }
    });
    source.addEventListener('error', () => {
      this.#interrupted = true;
      this.#callbacks.onState('reconnecting');
      // EventSource retries by itself unless the server refused the stream outright.
      if (source.readyState === EventSource.CLOSED) {
        this.#callbacks.onRefused();
        clearTimeout(this.#reopenTimer);
        this.#reopenTimer = setTimeout(() => this.#source === source && this.open(), reopenAfterMs);
      }
    });
    for (const type of eventTypes) {
      source.addEventListener(type, (event) => this.#dispatch(type, /** @type {MessageEvent} */ (event).data));
    }
  }

  close() {
    clearTimeout(this.#reopenTimer);
    this.#source?.close();
    this.#source = null;
    this.#interrupted = false;
  }

  /**
   * Calls handler with each event of a type until signal aborts.
   * @param {string} type schedule | run | runs | node | resync
   * @param {LiveHandler} handler
   * @param {AbortSignal} signal
   */
  on(type, handler, signal) {
    const handlers = this.#handlers.get(type);
    if (!handlers || signal.aborted) return;
    handlers.add(handler);
    signal.addEventListener('abort', () => handlers.delete(handler), { once: true });
  }

  /**
   * @param {string} type
   * @param {string} text
   */
  #dispatch(type, text) {
    let data;
    try {
      data = text ? JSON.parse(text) : {};
    } catch {
      return;
    }
    for (const handler of this.#handlers.get(type) ?? []) handler(data);
  }
}

/**
 * Runs work(key) at most once per key per interval: at once when the key is quiet, else once
 * more when the interval is over, so a burst of events costs one request per key.
 * @param {(key: string) => void} work
 * @param {number} intervalMs
 * @param {AbortSignal} signal stops what is waiting
 */
export function throttleByKey(work, intervalMs, signal) {
  /** @type {Map<string, number>} */
  const lastRun = new Map();
  /** @type {Map<string, ReturnType<typeof setTimeout>>} */
  const waiting = new Map();
  signal.addEventListener('abort', () => waiting.forEach((timer) => clearTimeout(timer)), { once: true });
  const run = (/** @type {string} */ key) => {
    waiting.delete(key);
    lastRun.set(key, Date.now());
    work(key);
  };
  return (/** @type {string} */ key) => {
    if (signal.aborted || waiting.has(key)) return;
    const wait = (lastRun.get(key) ?? -Infinity) + intervalMs - Date.now();
    if (wait <= 0) run(key);
    else
      waiting.set(
        key,
        setTimeout(() => run(key), wait),
      );
  };
}
