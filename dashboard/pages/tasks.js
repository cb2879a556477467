// The task catalog (/tasks): every task some worker published, or a built-in, and which live
// workers offer it. Workers joining or leaving are `node` events: the catalog is read again.
import { get } from '../api.js';
import { h, replaceKeepingFocus, scrollingTable } from '../dom.js';
import { throttleByKey } from '../live.js';

/** @typedef {{ name: string, description: string | null, offered_by: string[], builtin?: boolean }} Task */

/** @type {import('../app.js').PageFunction} */
export async function tasksPage(main, { signal, live }) {
  const content = h('div');
  main.append(h('h1', { tabindex: -1 }, 'Tasks'), content);

  async function reload() {
    const { tasks } = await get('/api/v1/tasks', signal);
    if (signal.aborted) return;
    replaceKeepingFocus(
      content,
      tasks.length === 0
        ? h('p', { class: 'muted' }, 'No task is known yet.')
        : scrollingTable('Tasks', ['Name', 'Description', 'Offered by'], h('tbody', null, tasks.map(taskRow))),
    );
  }

  const refresh = throttleByKey(() => void reload().catch((error) => console.warn(error)), 250, signal);
  live.on('node', () => refresh('tasks'), signal);

  await reload();
  return { reload };
}

/** @param {Task} task */
function taskRow(task) {
  const offeredBy = task.offered_by ?? [];
  return h(
    'tr',
    { 'data-task': task.name },
    h(
      'th',
      { scope: 'row' },
      h('code', null, task.name),
      task.builtin && h('span', { class: 'badge tone-plain' }, 'built-in'),
    ),
    h('td', null, task.description ?? ''),
    h(
      'td',
      null,
      offeredBy.length > 0
        ? h(
            'ul',
            { class: 'plain-list' },
            offeredBy.map((node) => h('li', null, h('code', null, node))),
          )
        : h('span', { class: 'badge tone-warn' }, 'no live worker'),
    ),
  );
}
