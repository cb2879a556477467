// The form that creates a schedule (/new) or edits one (on its page). The database validates
// every field; its messages are shown next to the input of the field they name.
import { ApiError, get, request, scheduleUrl } from '../api.js';
import { h, schedulePath } from '../dom.js';
import { formatJson } from '../format.js';

/**
 * @typedef {object} Input
 * @property {string} field the column (or the first part of a payload path) it sets
 * @property {string} label
 * @property {'text' | 'json' | 'checkbox' | 'select'} [kind]
 * @property {string[]} [options]
 * @property {string} [hint]
 * @property {string} [list] the id of a datalist of suggestions
 */

/** @type {Input[]} */
const inputs = [
  { field: 'name', label: 'Name', hint: 'letters, digits and _ . : / -' },
  { field: 'cron', label: 'Cron', hint: '5 fields, or 6 with seconds first; or @hourly, @daily…' },
  { field: 'every', label: 'Every', hint: 'an interval: 30 seconds, 00:05:00, 1 day' },
  { field: 'run_at', label: 'Run at', hint: 'once, at an ISO 8601 instant: 2026-12-24T18:00:00Z' },
  { field: 'task', label: 'Task', list: 'task-names' },
  { field: 'payload', label: 'Payload (JSON)', kind: 'json', hint: 'a JSON object, e.g. {"command": "echo hi"}' },
  { field: 'timezone', label: 'Timezone', hint: 'an IANA name; UTC when empty', list: 'zone-names' },
  { field: 'enabled', label: 'Enabled', kind: 'checkbox' },
  { field: 'queue', label: 'Queue', hint: 'runs in one queue run one at a time' },
  { field: 'timeout', label: 'Timeout', hint: 'an interval; none when empty' },
  { field: 'overlap', label: 'Overlap', kind: 'select', options: ['allow', 'skip', 'queue', 'replace'] },
  { field: 'misfire', label: 'Misfire', kind: 'select', options: ['skip', 'latest', 'all'] },
  { field: 'description', label: 'Description' },
  { field: 'labels', label: 'Labels (JSON)', kind: 'json', hint: 'a JSON object, e.g. {"team": "data"}' },
];
/** @typedef {Map<string, HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>} Controls the inputs by field */

const timings = ['cron', 'every', 'run_at'];
/** Fields the form has no input for: an edit sends them back as they were, so PUT keeps them. */
const keptFields = [
  'priority',
  'max_attempts',
  'catchup_window',
  'jitter',
  'starts_at',
  'ends_at',
  'allow_unknown_task',
];
/** @type {Record<string, unknown>} */
const defaults = { enabled: true, overlap: 'allow', misfire: 'latest' };

/**
 * @param {{ item?: Record<string, any>, etag?: string | null, signal: AbortSignal,
 *   onSaved: (name: string) => void, onCancel?: () => void }} options
 *   with an item, the form edits it (PUT, If-Match its etag); without, it creates one (POST)
 */
export function scheduleForm({ item, etag, signal, onSaved, onCancel }) {
  const shown = inputs.filter(({ field }) => !(item && field === 'name'));
  /** @type {Controls} */
  const controls = new Map(
    shown.map((input) => [input.field, control(input, item?.[input.field] ?? defaults[input.field])]),
  );
  // While a save is in flight, another press does nothing (a disabled button would drop focus).
  let saving = false;
  const submit = async (/** @type {Event} */ event) => {
    event.preventDefault();
    if (saving) return;
    clearErrors(form);
    const { body, errors } = readBody(controls, item);
    if (errors.length > 0) return showErrors(form, controls, errors, null);
    saving = true;
    form.setAttribute('aria-busy', 'true');
    try {
      const name = item ? item.name : String(body.name);
      await save(body, { item, etag, signal });
      onSaved(name);
    } catch (error) {
      if (signal.aborted) return;
      // A name taken (409) or a schedule changed meanwhile (412) is about the whole form.
      const fieldErrors = error instanceof ApiError && error.status === 400 ? (error.problem.errors ?? []) : [];
      showErrors(form, controls, fieldErrors, fieldErrors.length > 0 ? null : errorText(error));
    } finally {
      saving = false;
      form.removeAttribute('aria-busy');
    }
  };
  const form = h(
    'form',
    { class: 'schedule-form', novalidate: true, onsubmit: submit },
    h('div', { class: 'form-error' }),
    shown.map((input) => fieldBlock(input, /** @type {HTMLElement} */ (controls.get(input.field)))),
    h('datalist', { id: 'task-names' }),
    h(
      'datalist',
      { id: 'zone-names' },
      zoneNames().map((zone) => h('option', { value: zone })),
    ),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Save'),
      onCancel && h('button', { type: 'button', onclick: onCancel }, 'Cancel'),
    ),
  );
  void offerTasks(form, signal);
  return form;
}

/**
 * Sends the form: PUT the whole definition of the schedule edited (If-Match: as read), or POST
 * a new one.
 * @param {Record<string, unknown>} body
 * @param {{ item?: Record<string, any>, etag?: string | null, signal: AbortSignal }} options
 */
function save(body, { item, etag, signal }) {
  if (!item) return request('POST', '/api/v1/schedules', { body, signal });
  return request('PUT', scheduleUrl(item.name), { body, headers: etag ? { 'if-match': etag } : {}, signal });
}

/** @param {unknown} error */
const errorText = (error) => (error instanceof ApiError ? error.problem.detail : String(error));

/**
 * Each message next to its field's input; a field without an input, or detail, in the
 * form-level alert. Focus goes to the first input refused.
 * @param {HTMLElement} form
 * @param {Controls} controls
 * @param {Array<{ field: string, message: string }>} errors
 * @param {string | null} detail
 */
function showErrors(form, controls, errors, detail) {
  const general = detail ? [detail] : [];
  for (const { field, message } of errors) {
    const input = controls.get(field.split('.')[0] ?? '');
    if (input) markInvalid(input, field, message);
    else general.push(`${field}: ${message}`);
  }
  if (general.length > 0) {
    form
      .querySelector('.form-error')
      ?.append(h('p', { id: 'form-error', class: 'alert', role: 'alert' }, general.join('\n')));
  }
  /** @type {HTMLElement | null} */ (form.querySelector('[aria-invalid="true"]'))?.focus();
}

/**
 * @param {Input} input
 * @param {unknown} value its value now
 */
function control({ field, kind = 'text', options = [], list, hint }, value) {
  const attributes = { id: `field-${field}`, name: field, 'aria-describedby': hint ? `hint-${field}` : null };
  if (kind === 'checkbox')
    return /** @type {HTMLInputElement} */ (h('input', { ...attributes, type: 'checkbox', checked: value === true }));
  if (kind === 'select') {
    const select = /** @type {HTMLSelectElement} */ (
      h(
        'select',
        attributes,
        options.map((option) => h('option', { value: option }, option)),
      )
    );
    select.value = String(value);
    return select;
  }
  if (kind === 'json') {
    const text = value && Object.keys(value).length > 0 ? formatJson(value) : '';
    return /** @type {HTMLTextAreaElement} */ (
      h('textarea', { ...attributes, rows: 5, spellcheck: 'false', value: text })
    );
  }
  return /** @type {HTMLInputElement} */ (
    h('input', { ...attributes, type: 'text', list, autocomplete: 'off', spellcheck: 'false', value: value ?? '' })
  );
}

/**
 * @param {Input} input
 * @param {HTMLElement} element
 */
function fieldBlock({ field, label, kind, hint }, element) {
  const labelElement = h('label', { for: `field-${field}` }, label);
  return h(
    'div',
    { class: `field field-${kind ?? 'text'}`, 'data-field': field },
    kind === 'checkbox' ? [element, labelElement] : [labelElement, element],
    hint && h('p', { id: `hint-${field}`, class: 'hint' }, hint),
  );
}

/**
 * The request body: the fields given (empty ones left out, so they take their defaults), the
 * fields an edit keeps, and the refusals the browser can make before asking the server.
 * @param {Controls} controls
 * @param {Record<string, any> | undefined} item
 */
function readBody(controls, item) {
  /** @type {Record<string, unknown>} */
  const body = {};
  const errors = [];
  for (const field of keptFields) if (item?.[field] !== null && item?.[field] !== undefined) body[field] = item[field];
  for (const [field, element] of controls) {
    if (element instanceof HTMLInputElement && element.type === 'checkbox') body[field] = element.checked;
    else if (element.value.trim() === '') continue;
    else if (element instanceof HTMLTextAreaElement) {
      const parsed = parseObject(element.value);
      if (typeof parsed === 'string') errors.push({ field, message: parsed });
      else body[field] = parsed;
    } else body[field] = element instanceof HTMLSelectElement ? element.value : element.value.trim();
  }
  if (controls.has('name') && !body.name) errors.push({ field: 'name', message: 'give the schedule a name' });
  if (timings.filter((field) => field in body).length > 1) {
    errors.push({ field: 'timing', message: 'give one of Cron, Every and Run at, or none for a manual schedule' });
  }
  return { body, errors };
}

/**
 * A JSON object, or why the text is not one.
 * @param {string} text
 * @returns {Record<string, unknown> | string}
 */
function parseObject(text) {
  try {
    const value = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? value : 'must be a JSON object ({…})';
  } catch (error) {
    return `is not valid JSON: ${error instanceof Error ? error.message : error}`;
  }
}

/**
 * @param {HTMLElement} input
 * @param {string} field as the server named it: payload.command
 * @param {string} message
 */
function markInvalid(input, field, message) {
  const id = `error-${field.replaceAll('.', '-')}`;
  const existing = document.getElementById(id);
  if (existing) {
    existing.textContent += `; ${message}`;
    return;
  }
  input.closest('.field')?.append(h('p', { id, class: 'field-error', role: 'alert' }, message));
  input.setAttribute('aria-invalid', 'true');
  input.setAttribute('aria-describedby', `${input.getAttribute('aria-describedby') ?? ''} ${id}`.trim());
}

/** @param {HTMLElement} form */
function clearErrors(form) {
  form.querySelector('.form-error')?.replaceChildren();
  for (const error of form.querySelectorAll('.field-error')) error.remove();
  for (const input of form.querySelectorAll('[aria-invalid]')) {
    input.removeAttribute('aria-invalid');
    const hint = `hint-${input.getAttribute('name')}`;
    if (document.getElementById(hint)) input.setAttribute('aria-describedby', hint);
    else input.removeAttribute('aria-describedby');
  }
}

/** IANA zones the browser knows, offered while typing. */
function zoneNames() {
  try {
    return ['UTC', ...Intl.supportedValuesOf('timeZone')];
  } catch {
    return ['UTC'];
  }
}

/**
 * Offers the task names of the catalog while typing; a form without them still works.
 * @param {HTMLElement} form
 * @param {AbortSignal} signal
 */
async function offerTasks(form, signal) {
  try {
    const { tasks } = await get('/api/v1/tasks', signal);
    form
      .querySelector('#task-names')
      ?.replaceChildren(...tasks.map((/** @type {{ name: string }} */ task) => h('option', { value: task.name })));
  } catch {
    // Suggestions only.
  }
}

/** @type {import('../app.js').PageFunction} */
export async function newSchedulePage(main, { admin, navigate, signal }) {
  main.append(h('h1', { tabindex: -1 }, 'New schedule'));
  if (!admin) {
    main.append(h('p', null, 'Only an admin token may create schedules; this one is a reader.'));
    return;
  }
  main.append(scheduleForm({ signal, onSaved: (name) => navigate(schedulePath(name)) }));
}
