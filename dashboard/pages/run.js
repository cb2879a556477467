// A run's page (/runs/<id>): its status, timings, error, payload and output tails. While it
// is pending or running it is read again every second (and on its events), so the output grows.
import { request } from '../api.js';
import { alertBox, definitionList, h, replaceKeepingFocus, schedulePath, toneOf } from '../dom.js';
import { durationBetween, formatInZone, formatJson, formatRelative, intervalWords } from '../format.js';
import { throttleByKey } from '../live.js';

/** @typedef {Record<string, any>} Run a run as GET /api/v1/runs/{id} gives it */

const pollMs = 1000;
const unfinished = ['pending', 'running'];

/** @type {import('../app.js').PageFunction} */
export async function runPage(main, context) {
  const page = new RunPage(main, context);
  await page.reload();
  return page;
}

class RunPage {
  // One element for the run's life: a live region announces its changes only if it stays.
  #status = h('span', { role: 'status', id: 'run-status', class: 'badge' });
  #actions = h('div', { class: 'actions' });
  #actionError = h('div');
  #details = h('div');
  #stdout = output('stdout');
  #stderr = output('stderr');
  /** @type {string | undefined} the status shown */
  #shownStatus;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #pollTimer;
  #refresh;

  /**
   * @param {HTMLElement} main
   * @param {import('../app.js').PageContext} context
   */
  constructor(main, context) {
    const { params, signal, live } = context;
    this.context = context;
    this.id = params[0] ?? '';
    main.append(
      h('h1', { tabindex: -1 }, `Run ${this.id}`),
      h('p', { class: 'run-status' }, 'Status: ', this.#status),
      this.#actions,
      this.#actionError,
      this.#details,
      h('h2', null, 'Output'),
      h('h3', null, 'stdout'),
      this.#stdout,
      h('h3', null, 'stderr'),
      this.#stderr,
    );
    signal.addEventListener('abort', () => clearTimeout(this.#pollTimer), { once: true });
    this.#refresh = throttleByKey(() => void this.reload().catch((error) => console.warn(error)), 250, signal);
    live.on(
      'run',
      (/** @type {{ id: number }} */ event) => String(event.id) === this.id && this.#refresh(this.id),
      signal,
    );
  }

  async reload() {
    clearTimeout(this.#pollTimer);
    const { signal } = this.context;
    const { data: run } = await request('GET', `/api/v1/runs/${encodeURIComponent(this.id)}`, { signal });
    if (signal.aborted) return;
    this.#show(run);
    if (unfinished.includes(run.status)) this.#pollTimer = setTimeout(() => this.#refresh(this.id), pollMs);
  }

  /** @param {Run} run */
  #show(run) {
    this.#status.textContent = run.status;
    this.#status.className = `badge ${toneOf(run.status)}`;
    if (run.status !== this.#shownStatus) {
      const cancel = this.context.admin && unfinished.includes(run.status);
      replaceKeepingFocus(
        this.#actions,
        cancel &&
          h('button', { id: 'cancel', type: 'button', class: 'danger', onclick: () => this.#cancel() }, 'Cancel'),
      );
    }
    this.#shownStatus = run.status;
    replaceKeepingFocus(this.#details, runDetails(run));
    setOutput(this.#stdout, run.stdout);
    setOutput(this.#stderr, run.stderr);
  }

  async #cancel() {
    const { signal, announce } = this.context;
    this.#actionError.replaceChildren();
    try {
      await request('POST', `/api/v1/runs/${encodeURIComponent(this.id)}/cancel`, { signal });
      announce(`Cancel of run ${this.id} requested`);
      await this.reload();
    } catch (error) {
      if (!signal.aborted) this.#actionError.append(alertBox(error instanceof Error ? error.message : String(error)));
    }
  }
}

/** @param {string} name stdout or stderr */
function output(name) {
  // A named region: a scrollable block that the keyboard can reach and a screen reader names.
  return h('pre', { class: 'output', role: 'region', 'aria-label': name, tabindex: 0 });
}

/**
 * Shows a tail, staying at the bottom if the reader was there: the newest lines stay in view.
 * @param {HTMLElement} pre
 * @param {string | null | undefined} text
 */
function setOutput(pre, text) {
  const next = text ?? '';
  if (pre.textContent === next) return;
  const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  pre.textContent = next;
  if (atBottom) pre.scrollTop = pre.scrollHeight;
}

/** @param {Run} run */
function runDetails(run) {
  const attempts = run.max_attempts ? `${run.attempt ?? 0} of ${run.max_attempts}` : run.attempt;
  const schedule =
    run.schedule_id !== null && run.schedule_name
      ? h('a', { id: 'run-schedule', href: schedulePath(run.schedule_name) }, run.schedule_name)
      : run.schedule_name;
  return [
    definitionList([
      ['Schedule', schedule],
      ['Task', run.task],
      ['Kind', run.kind],
      ['Attempt', attempts],
      ['Fire at', formatInZone(run.fire_at)],
      ['Enqueued', run.enqueued_at && formatInZone(run.enqueued_at)],
      ['Started', run.started_at && formatInZone(run.started_at)],
      ['Finished', run.finished_at && `${formatInZone(run.finished_at)}, ${formatRelative(run.finished_at)}`],
      ['Duration', durationBetween(run.started_at, run.finished_at)],
      ['Late by', run.late_by && intervalWords(run.late_by)],
      ['Reason', run.reason],
      ['Exit code', run.exit_code],
      ['Signal', run.signal],
      ['Worker', run.worker_id],
      ['Cancel requested', run.cancel_requested_at && formatInZone(run.cancel_requested_at)],
    ]),
    run.error && [
      h('h2', null, 'Error'),
      h('pre', { class: 'error-text' }, typeof run.error === 'string' ? run.error : formatJson(run.error)),
    ],
    h('h2', null, 'Payload'),
    h('pre', null, formatJson(run.payload ?? {})),
  ];
}
