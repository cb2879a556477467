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

/** @type {import('../app.js').PageFunction} */
export async function schedulePage(main, { params, admin, signal, live, navigate, announce }) {
  const name = params[0] ?? '';
  /** @type {Item | null} */
  let item = null;
  /** @type {string | null} */
  let etag = null;
  const content = h('div');
  // Outside the content, so that a live refresh keeps an action's error and an open form.
  const actionError = h('div');
  const editor = h('div', { id: 'edit-section' });
  main.append(h('h1', { tabindex: -1 }, name), actionError, content, editor);

  async function reload() {
    try {
      const answer = await request('GET', `${scheduleUrl(name)}?fires=10`, { signal });
      if (signal.aborted) return;
      ({ data: item, etag } = answer);
      render(/** @type {Item} */ (item));
    } catch (error) {
      // Deleted while shown: said so in place; a name that never was is the app's Not found.
      if (!(item && error instanceof ApiError && error.status === 404)) throw error;
      item = null;
      editor.replaceChildren();
      replaceKeepingFocus(content, h('p', { class: 'notice' }, `The schedule ${name} was deleted.`));
    }
  }

  /** @param {Item} shown */
  function render(shown) {
    replaceKeepingFocus(
      content,
      h('p', null, stateBadges(/** @type {any} */ (shown))),
      admin && actions(shown),
      managedNotice(shown),
      definitionSection(shown),
      nextFiresSection(shown),
      recentRunsSection(shown),
      whySection(shown),
      changesSection(shown),
    );
  }

  /**
   * Runs an action; a refusal is shown under the heading.
   * @param {() => Promise<void>} work
   */
  async function act(work) {
    actionError.replaceChildren();
    try {
      await work();
    } catch (error) {
      if (!signal.aborted) actionError.append(alertBox(error instanceof Error ? error.message : String(error)));
    }
  }

  /** @param {Item} shown */
  function actions(shown) {
    const base = scheduleUrl(name);
    const toggle = shown.enabled ? 'pause' : 'resume';
    return h(
      'div',
      { class: 'actions' },
      h(
        'button',
        {
          id: 'toggle-enabled',
          type: 'button',
          onclick: () =>
            act(async () => {
              await request('POST', `${base}/${toggle}`, { signal });
              announce(`Schedule ${name} ${toggle === 'pause' ? 'paused' : 'resumed'}`);
              await reload();
            }),
        },
        shown.enabled ? 'Pause' : 'Resume',
      ),
      h(
        'button',
        {
          id: 'trigger',
          type: 'button',
          onclick: () =>
            act(async () => {
              const { data: run } = await request('POST', `${base}/trigger`, { signal });
              navigate(`/runs/${run.id}`);
            }),
        },
        'Trigger now',
      ),
      h(
        'button',
        {
          id: 'edit',
          type: 'button',
          'aria-expanded': String(editor.hasChildNodes()),
          'aria-controls': 'edit-section',
          onclick: () => toggleEditor(),
        },
        'Edit',
      ),
      h(
        'button',
        {
          id: 'delete',
          type: 'button',
          class: 'danger',
          onclick: () =>
            window.confirm(`Delete the schedule "${name}"? Its runs are kept.`) &&
            act(async () => {
              await request('DELETE', base, { signal });
              announce(`Schedule ${name} deleted`);
              navigate('/');
            }),
        },
        'Delete',
      ),
    );
  }

  function toggleEditor() {
    const open = !editor.hasChildNodes();
    document.getElementById('edit')?.setAttribute('aria-expanded', String(open));
    if (!open || !item) return editor.replaceChildren();
    const form = scheduleForm({
      item,
      etag,
      signal,
      onSaved: () => {
        announce(`Schedule ${name} saved`);
        navigate(schedulePath(name), { replace: true });
      },
      onCancel: () => {
        toggleEditor();
        document.getElementById('edit')?.focus();
      },
    });
    editor.replaceChildren(h('section', null, h('h2', { id: 'edit-heading', tabindex: -1 }, 'Edit schedule'), form));
    document.getElementById('edit-heading')?.focus();
  }

  const refresh = throttleByKey(() => void reload().catch((error) => console.warn(error)), 250, signal);
  live.on(
    'schedule',
    (/** @type {{ op: string, id?: number, name?: string }} */ event) => {
      const ours = event.name === name || (item !== null && event.id === item.id);
      // Renamed: its page is under the new name now.
      if (ours && event.op === 'update' && event.name && event.name !== name) {
        return navigate(schedulePath(event.name), { replace: true });
      }
      if (ours || event.op === 'resync') refresh(name);
    },
    signal,
  );
  live.on(
    'run',
    (/** @type {{ schedule?: string, schedule_id?: number, change?: string }} */ run) => {
      const ours = run.schedule === name || (item !== null && run.schedule_id === item.id);
      // Output is not shown here: only a run created or moved matters.
      if (ours && run.change !== 'output') refresh(name);
    },
    signal,
  );
  live.on('runs', () => refresh(name), signal);

  await reload();
  return { reload };
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
