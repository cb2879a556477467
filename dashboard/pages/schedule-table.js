// The rows of the schedules table, in name order, kept in place as schedules come and go: a
// row is replaced, inserted or removed alone, never the whole table (but on a full reload).
// Every schedule has its row, but only the first rows that match are shown (a hundred, then
// more on request), and those that arrived while the page was open: a row hidden costs the
// browser no layout, and a thousand shown took it ~150 ms to lay out each time the page loaded.
import { h } from '../dom.js';
import { scheduleRow, showOutcomes } from './schedule-row.js';

/** @typedef {import('./schedule-row.js').ScheduleItem} ScheduleItem */
/** @typedef {(item: ScheduleItem) => boolean} Matcher */

/** Rows drawn whole at once: a screenful and more; the others when they near the viewport. */
const drawnFirst = 40;
/** Rows shown at first, and how many more each "Show more" adds. */
export const rowsAtOnce = 100;

/** Names in code-point order, here and for every row inserted later. */
export const byName = (/** @type {string} */ a, /** @type {string} */ b) => (a < b ? -1 : a > b ? 1 : 0);

export class ScheduleTable {
  body = h('tbody');
  /** @type {Map<string, { item: ScheduleItem, row: HTMLTableRowElement }>} */
  #entries = new Map();
  /** @type {string[]} the names of the rows, in table order */
  #names = [];
  /** @type {Matcher} which rows are shown; the others are hidden */
  #matches = () => true;
  /** Schedules that came while the page was open: shown where they sort, past the limit too. */
  #arrived = new Set();
  /** Rows whose outcome marks are drawn (see showOutcomes). */
  #drawn = new WeakSet();
  #nearViewport = new IntersectionObserver(
    (seen) => {
      for (const { target, isIntersecting } of seen) {
        if (isIntersecting) this.#draw(/** @type {HTMLTableRowElement} */ (target));
      }
    },
    { rootMargin: '100% 0px' },
  );

  /** @param {AbortSignal} signal the page's: the observer stops with it */
  constructor(signal) {
    signal.addEventListener('abort', () => this.#nearViewport.disconnect(), { once: true });
  }

  get size() {
    return this.#entries.size;
  }

  /** @param {string} name */
  has(name) {
    return this.#entries.has(name);
  }

  /** The tasks the schedules use. */
  tasks() {
    return [...new Set([...this.#entries.values()].map(({ item }) => item.task))];
  }

  /**
   * Shows the first `atMost` rows that match and those that arrived while the page was open,
   * hides the others; says how many match and how many of them are shown.
   * @param {Matcher} matches
   * @param {number} atMost
   */
  filter(matches, atMost) {
    this.#matches = matches;
    let [matching, shown] = [0, 0];
    for (const name of this.#names) {
      const entry = /** @type {{ item: ScheduleItem, row: HTMLTableRowElement }} */ (this.#entries.get(name));
      const match = matches(entry.item);
      if (match) matching += 1;
      entry.row.hidden = !match || (matching > atMost && !this.#arrived.has(name));
      if (!entry.row.hidden) shown += 1;
    }
    return { matching, shown };
  }

  /**
   * Every row anew, built apart and added at once.
   * @param {ScheduleItem[]} items
   * @param {Matcher} matches which to show
   * @param {number} atMost the first this many that match
   */
  showAll(items, matches, atMost) {
    this.#arrived.clear();
    const fragment = document.createDocumentFragment();
    this.#entries.clear();
    this.#names = [];
    for (const item of [...items].sort((a, b) => byName(a.name, b.name))) {
      const row = scheduleRow(item);
      this.#entries.set(item.name, { item, row });
      this.#names.push(item.name);
      fragment.append(row);
    }
    this.filter(matches, atMost);
    this.#nearViewport.disconnect();
    this.body.replaceChildren(fragment);
    const rows = this.#names.map((name) => /** @type {HTMLTableRowElement} */ (this.#entries.get(name)?.row));
    rows
      .filter((row) => !row.hidden)
      .slice(0, drawnFirst)
      .forEach((row) => this.#draw(row));
    // Hidden rows too: a filter may show them later.
    for (const row of rows) if (!this.#drawn.has(row)) this.#nearViewport.observe(row);
  }

  /**
   * Puts a schedule's row in place: replaced where it was (focus kept), or inserted in name
   * order. A row of the same id under another name (renamed) goes.
   * @param {ScheduleItem} item
   */
  upsert(item) {
    for (const [name, entry] of this.#entries) if (entry.item.id === item.id && name !== item.name) this.remove(name);
    const row = scheduleRow(item);
    const existing = this.#entries.get(item.name);
    // As it was, or hidden until the page filters again (a new row may push another out).
    row.hidden = !this.#matches(item) || (existing?.row.hidden ?? true);
    this.#entries.set(item.name, { item, row });
    if (existing) {
      const focused = [...existing.row.querySelectorAll('a')].indexOf(/** @type {any} */ (document.activeElement));
      this.#nearViewport.unobserve(existing.row);
      existing.row.replaceWith(row);
      if (this.#drawn.has(existing.row)) this.#draw(row);
      if (focused >= 0) row.querySelectorAll('a')[focused]?.focus();
    } else {
      this.#arrived.add(item.name);
      const index = sortedIndex(this.#names, item.name);
      this.#names.splice(index, 0, item.name);
      this.body.insertBefore(row, this.#entries.get(this.#names[index + 1] ?? '')?.row ?? null);
    }
    if (!this.#drawn.has(row)) this.#nearViewport.observe(row);
  }

  /** @param {string} name */
  remove(name) {
    const entry = this.#entries.get(name);
    if (!entry) return;
    this.#arrived.delete(name);
    this.#nearViewport.unobserve(entry.row);
    entry.row.remove();
    this.#entries.delete(name);
    this.#names.splice(this.#names.indexOf(name), 1);
  }

  /** @param {HTMLTableRowElement} row */
  #draw(row) {
    const entry = this.#entries.get(row.dataset.schedule ?? '');
    if (this.#drawn.has(row) || entry?.row !== row) return;
    this.#drawn.add(row);
    this.#nearViewport.unobserve(row);
    showOutcomes(row, entry.item);
  }
}

/**
 * The index at which a name goes to keep the names sorted.
 * @param {string[]} sorted
 * @param {string} name
 */
function sortedIndex(sorted, name) {
  let [low, high] = [0, sorted.length];
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (byName(/** @type {string} */ (sorted[middle]), name) < 0) low = middle + 1;
    else high = middle;
  }
  return low;
}
