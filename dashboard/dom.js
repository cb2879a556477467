// DOM building without innerHTML: every value a user wrote (names, payloads, output) becomes a
// text node, so it can never be read as markup.

/** Attributes that are set as properties, because the attribute is only the initial value. */
const properties = new Set(['value', 'checked', 'selected', 'disabled', 'hidden']);

/**
 * An element with attributes, listeners (`onclick`: a function) and children (nodes, or text;
 * null, undefined and false are skipped, arrays flattened).
 * @param {string} tag
 * @param {Record<string, unknown> | null} [attributes]
 * @param {...unknown} children
 * @returns {HTMLElement}
 */
export function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      element.addEventListener(key.slice(2), /** @type {EventListener} */ (value));
    } else if (properties.has(key)) {
      /** @type {any} */ (element)[key] = value;
    } else {
      element.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(element, children);
  return element;
}

/**
 * @param {Node} parent
 * @param {unknown[]} children
 */
function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/**
 * Replaces a container's children, giving focus back to the control that had it (found again
 * by id), so a live refresh never throws a keyboard user back to the top of the page.
 * @param {Element} container
 * @param {...unknown} children
 */
export function replaceKeepingFocus(container, ...children) {
  const focused = document.activeElement;
  const id = focused && container.contains(focused) ? focused.id : '';
  container.replaceChildren();
  append(container, children);
  if (id) document.getElementById(id)?.focus();
}

/**
 * A table that scrolls inside its own focusable, named region on narrow screens, instead of
 * widening the page.
 * @param {string} label what the table lists, its accessible name
 * @param {string[]} headings column headings
 * @param {Node} body the tbody
 */
export function scrollingTable(label, headings, body) {
  const head = h(
    'thead',
    null,
    h(
      'tr',
      null,
      headings.map((text) => h('th', { scope: 'col' }, text)),
    ),
  );
  return h(
    'div',
    { class: 'table-wrap', role: 'region', 'aria-label': label, tabindex: 0 },
    h('table', null, head, body),
  );
}

/**
 * The tone (color) of each status, run or schedule: ok, bad, run, wait or warn.
 * @type {Record<string, string>}
 */
const statusTone = {
  succeeded: 'ok',
  failed: 'bad',
  timed_out: 'bad',
  running: 'run',
  pending: 'wait',
  skipped: 'warn',
  missed: 'warn',
  cancelled: 'warn',
  active: 'ok',
  paused: 'warn',
  invalid: 'bad',
};

/** The class of a status's tone, for marks drawn elsewhere. */
export const toneOf = (/** @type {string} */ status) => `tone-${statusTone[status] ?? 'plain'}`;

/**
 * A status as a colored badge that also says it in words: color is never the only cue.
 * @param {string | null | undefined} status
 */
export function statusBadge(status) {
  if (!status) return h('span', { class: 'muted' }, '—');
  return h('span', { class: `badge ${toneOf(status)}` }, status);
}

/**
 * A definition list of [term, value] pairs; pairs without a value are left out.
 * @param {Array<[string, unknown]>} pairs
 */
export function definitionList(pairs) {
  const shown = pairs.filter(([, value]) => value !== null && value !== undefined && value !== '');
  return h(
    'dl',
    { class: 'fields' },
    shown.map(([term, value]) => [h('dt', null, term), h('dd', null, value)]),
  );
}

/**
 * An alert (role=alert) with a message, for errors a person must notice.
 * @param {string} message
 */
export const alertBox = (message) => h('p', { class: 'alert', role: 'alert' }, message);

/** A link the router follows without reloading the page. */
export const link = (/** @type {string} */ href, /** @type {unknown[]} */ ...children) => h('a', { href }, ...children);

/** The page path of a schedule: names may hold `/`, `:` and `.`, so they are encoded. */
export const schedulePath = (/** @type {string} */ name) => `/schedules/${encodeURIComponent(name)}`;
