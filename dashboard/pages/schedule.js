// A schedule's page (/schedules/<name>): what it is, when it fires next, how its runs went,
// why fires did not run, who changed it; for an admin: pause or resume, trigger, edit, delete.
import { ApiError, request, scheduleUrl } from '../api.js';
import { alertBox, h, replaceKeepingFocus, schedulePath } from '../dom.js';
import { throttleByKey } from '../live.js';
import { scheduleForm } from './schedule-form.js';
import { stateBadges } from './schedule-row.js';
import {
  changesSection,
  definitionSection,
  nextFiresSection,
  recentRunsSection,
  whySection,
} from './schedule-sections.js';

/** @typedef {import('./schedule-sections.js').Item} Item */
/** @typedef {import('../app.js').PageContext} PageContext */

/** @type {import('../app.js').PageFunction} */
export async function schedulePage(main, context) {
  const page = new SchedulePage(main, context);
  await page.reload();
  return page;
}

class SchedulePage {
  /** @type {Item | null} */
  #item = null;
  /** @type {string | null} */
  #etag = null;
  #content = h('div');
  // Outside the content, so that a live refresh keeps an action's error and an open form.
  #actionError = h('div');
  #editor = h('div', { id: 'edit-section' });

  /**
   * @param {HTMLElement} main
   * @param {PageContext} context
   */
  constructor(main, context) {
    this.context = context;
    this.name = context.params[0] ?? '';
    main.append(h('h1', { tabindex: -1 }, this.name), this.#actionError, this.#content, this.#editor);
    this.#follow();
  }

  async reload() {
    const { signal } = this.context;
    try {
      const answer = await request('GET', `${scheduleUrl(this.name)}?fires=10`, { signal });
      if (signal.aborted) return;
      ({ data: this.#item, etag: this.#etag } = answer);
      this.#render(answer.data);
    } catch (error) {
      // Deleted while shown: said so in place; a name that never was is the app's Not found.
      if (!(this.#item && error instanceof ApiError && error.status === 404)) throw error;
      this.#item = null;
      this.#editor.replaceChildren();
      replaceKeepingFocus(this.#content, h('p', { class: 'notice' }, `The schedule ${this.name} was deleted.`));
    }
  }

  /** @param {Item} item */
  #render(item) {
    replaceKeepingFocus(
      this.#content,
      h('p', null, stateBadges(/** @type {any} */ (item))),
      this.context.admin && this.#actions(item),
      managedNotice(item),
      definitionSection(item),
      nextFiresSection(item),
      recentRunsSection(item),
      whySection(item),
      changesSection(item),
    );
  }

  /** @param {Item} item */
  #actions(item) {
    const expanded = String(this.#editor.hasChildNodes());
    /** @type {Array<[string, string, () => Promise<void> | void, Record<string, string>?]>} id, text, work */
    const buttons = [
      ['toggle-enabled', item.enabled ? 'Pause' : 'Resume', () => this.#setEnabled(!item.enabled)],
      ['trigger', 'Trigger now', () => this.#trigger()],
      ['edit', 'Edit', () => this.#toggleEditor(), { 'aria-expanded': expanded, 'aria-controls': 'edit-section' }],
      ['delete', 'Delete', () => this.#delete(), { class: 'danger' }],
    ];
    return h(
      'div',
      { class: 'actions' },
      buttons.map(([id, text, work, attributes]) =>
        h('button', { ...attributes, id, type: 'button', onclick: () => void this.#act(work) }, text),
      ),
    );
  }

  /** @param {boolean} enabled */
  async #setEnabled(enabled) {
    const action = enabled ? 'resume' : 'pause';
    await request('POST', `${scheduleUrl(this.name)}/${action}`, { signal: this.context.signal });
    this.context.announce(`Schedule ${this.name} ${enabled ? 'resumed' : 'paused'}`);
    await this.reload();
  }

  /** A run now; its page shows how it goes. */
  async #trigger() {
    const { data: run } = await request('POST', `${scheduleUrl(this.name)}/trigger`, { signal: this.context.signal });
    this.context.navigate(`/runs/${run.id}`);
  }

  async #delete() {
    if (!window.confirm(`Delete the schedule "${this.name}"? Its runs are kept.`)) return;
    await request('DELETE', scheduleUrl(this.name), { signal: this.context.signal });
    this.context.announce(`Schedule ${this.name} deleted`);
    this.context.navigate('/');
  }

  /**
   * Runs an action; a refusal is shown under the heading.
   * @param {() => Promise<void> | void} work
   */
  async #act(work) {
    this.#actionError.replaceChildren();
    try {
      await work();
    } catch (error) {
      if (this.context.signal.aborted) return;
      this.#actionError.append(alertBox(error instanceof Error ? error.message : String(error)));
    }
  }

  #toggleEditor() {
    const open = !this.#editor.hasChildNodes();
    document.getElementById('edit')?.setAttribute('aria-expanded', String(open));
    if (!open || !this.#item) return this.#editor.replaceChildren();
    const { signal, navigate, announce } = this.context;
    const form = scheduleForm({
      item: this.#item,
      etag: this.#etag,
      signal,
      onSaved: () => {
        announce(`Schedule ${this.name} saved`);
        navigate(schedulePath(this.name), { replace: true });
      },
      onCancel: () => {
        this.#toggleEditor();
        document.getElementById('edit')?.focus();
      },
    });
    this.#editor.replaceChildren(
      h('section', null, h('h2', { id: 'edit-heading', tabindex: -1 }, 'Edit schedule'), form),
    );
    document.getElementById('edit-heading')?.focus();
  }

  /** Its changes and its runs', from the stream; a rename moves the page to the new name. */
  #follow() {
    const { live, signal, navigate } = this.context;
    const name = this.name;
    const refresh = throttleByKey(() => void this.reload().catch((error) => console.warn(error)), 250, signal);
    /**
     * Whether a schedule (by name or id) is the one shown.
     * @param {string | null | undefined} other
     * @param {number | null | undefined} id
     */
    const ours = (other, id) => other === name || (this.#item !== null && id === this.#item.id);
    live.on(
      'schedule',
      (/** @type {{ op: string, id?: number, name?: string }} */ event) => {
        if (ours(event.name, event.id) && event.op === 'update' && event.name && event.name !== name) {
          return navigate(schedulePath(event.name), { replace: true });
        }
        if (ours(event.name, event.id) || event.op === 'resync') refresh(name);
      },
      signal,
    );
    live.on(
      'run',
      (/** @type {{ change?: string, schedule?: string, schedule_id?: number }} */ run) => {
        // Output is not shown here: only a run created or moved matters.
        if (ours(run.schedule, run.schedule_id) && run.change !== 'output') refresh(name);
      },
      signal,
    );
    live.on('runs', () => refresh(name), signal);
  }
}

/**
 * Where a schedule applied from job files came from, and whether it drifted from them.
 * @param {Item} item
 */
function managedNotice(item) {
  if (!item.managed_by) return null;
  const file = item.managed_file ?? item.managed_by;
  return h(
    'div',
    { class: 'notice' },
    h('p', null, `Applied from ${item.managed_by}`, item.managed_file ? `, file ${item.managed_file}` : '', '.'),
    item.drift &&
      h(
        'p',
        { class: 'warning' },
        h('strong', null, 'Drift: '),
        `changed since it was applied from ${file}; the next apply puts it back`,
      ),
  );
}
