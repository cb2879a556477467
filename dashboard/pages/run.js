// A run's page (/runs/<id>): its status, timings, error, payload and output tails. While it
// is pending or running it is read again every second (and on its events), so the output grows.
import { request } from '../api.js';
import { alertBox, definitionList, h, replaceKeepingFocus, schedulePath, toneOf } from '../dom.js';
import { durationBetween, formatInZone, formatJson, intervalWords } from '../format.js';
import { throttleByKey } from '../live.js';

/** @typedef {Record<string, any>} Run a run as GET /api/v1/runs/{id} gives it */

const pollMs = 1000;
const unfinished = ['pending', 'running'];

/** @type {import('../app.js').PageFunction} */
export async function runPage(main, { params, admin, signal, live, announce }) {
  const id = params[0] ?? '';
  /** @type {Run | null} */
  let run = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let pollTimer;
  signal.addEventListener('abort', () => clearTimeout(pollTimer), { once: true });

  // One element for the run's life: a live region announces its changes only if it stays.
  const status = h('span', { role: 'status', id: 'run-status', class: 'badge' });
  const actions = h('div', { class: 'actions' });
  const actionError = h('div');
  const details = h('div');
  const stdout = output('stdout');
  const stderr = output('stderr');
  main.append(
    h('h1', { tabindex: -1 }, `Run ${id}`),
    h('p', { class: 'run-status' }, 'Status: ', status),
    actions,
    actionError,
    details,
    h('h2', null, 'Output'),
    h('h3', null, 'stdout'),
    stdout,
    h('h3', null, 'stderr'),
    stderr,
  );

  async function reload() {
    clearTimeout(pollTimer);
    const { data } = await request('GET', `/api/v1/runs/${encodeURIComponent(id)}`, { signal });
    if (signal.aborted) return;
    const before = run?.status;
    run = data;
    show(data, before);
    if (unfinished.includes(data.status)) pollTimer = setTimeout(() => refresh(id), pollMs);
  }

  /**
   * @param {Run} shown
   * @param {string | undefined} statusBefore
   */
  function show(shown, statusBefore) {
    status.textContent = shown.status;
    status.className = `badge ${toneOf(shown.status)}`;
    if (shown.status !== statusBefore) {
      replaceKeepingFocus(actions, admin && unfinished.includes(shown.status) && cancelButton());
    }
    replaceKeepingFocus(details, runDetails(shown));
    setOutput(stdout, shown.stdout);
    setOutput(stderr, shown.stderr);
  }

  function cancelButton() {
    const cancel = async () => {
      actionError.replaceChildren();
      try {
        await request('POST', `/api/v1/runs/${encodeURIComponent(id)}/cancel`, { signal });
        announce(`Cancel of run ${id} requested`);
        await reload();
      } catch (error) {
        if (!signal.aborted) actionError.append(alertBox(error instanceof Error ? error.message : String(error)));
      }
    };
    return h('button', { id: 'cancel', type: 'button', class: 'danger', onclick: () => void cancel() }, 'Cancel');
  }

  const refresh = throttleByKey(() => void reload().catch((error) => console.warn(error)), 250, signal);
  live.on('run', (/** @type {{ id: number }} */ event) => String(event.id) === id && refresh(id), signal);

  await reload();
  return { reload };
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
      ['Finished', run.finished_at && formatInZone(run.finished_at)],
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
