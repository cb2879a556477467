// The cluster page (/cluster): every node with its heartbeat's age (ticking here each second),
// the leader, and the leader changes of the last 24 hours.
import { get } from '../api.js';
import { h, replaceKeepingFocus, scrollingTable } from '../dom.js';
import { formatInZone, intervalSeconds, toDate } from '../format.js';
import { throttleByKey } from '../live.js';

/** @typedef {Record<string, any>} Node a node as GET /api/v1/cluster gives it */

/** Heartbeats do not notify, so the ages are read again this often; joins and leaves are events. */
const refreshMs = 10_000;

/** @type {import('../app.js').PageFunction} */
export async function clusterPage(main, { signal, live }) {
  /** @type {Array<{ cell: HTMLElement, age: number, readAt: number }>} */
  let heartbeats = [];
  const content = h('div');
  main.append(h('h1', { tabindex: -1 }, 'Cluster'), content);

  // The server's age of each heartbeat plus the time since it was read: no trust in this clock.
  const tick = () => {
    for (const { cell, age, readAt } of heartbeats)
      cell.textContent = `${Math.max(0, Math.floor(age + (Date.now() - readAt) / 1000))} s`;
  };
  const ticker = setInterval(tick, 1000);
  const refresher = setInterval(() => refresh('cluster'), refreshMs);
  signal.addEventListener('abort', () => (clearInterval(ticker), clearInterval(refresher)), { once: true });

  async function reload() {
    const cluster = await get('/api/v1/cluster', signal);
    if (signal.aborted) return;
    const readAt = Date.now();
    /** @type {Node[]} */
    const nodes = cluster.nodes ?? [];
    heartbeats = [];
    const rows = nodes.map((node) => {
      const cell = h('td', { class: 'nowrap' });
      const age = intervalSeconds(node.heartbeat_age);
      const fallback = (readAt - (toDate(node.heartbeat_at)?.getTime() ?? readAt)) / 1000;
      heartbeats.push({ cell, age: Number.isNaN(age) ? fallback : age, readAt });
      return nodeRow(node, cell);
    });
    replaceKeepingFocus(
      content,
      leaderSummary(cluster.leader),
      h('h2', null, 'Nodes'),
      nodes.length === 0
        ? h('p', { class: 'muted' }, 'No node is running.')
        : scrollingTable(
            'Nodes',
            ['Node', 'Roles', 'Host', 'PID', 'Version', 'Leader', 'Heartbeat age'],
            h('tbody', null, rows),
          ),
      leaderChanges(cluster.leader_changes),
    );
    tick();
  }

  const refresh = throttleByKey(() => void reload().catch((error) => console.warn(error)), 250, signal);
  live.on('node', () => refresh('cluster'), signal);

  await reload();
  return { reload };
}

/**
 * A node id, shortened, with the whole of it in its title.
 * @param {string} id
 */
const shortId = (id) => h('code', { title: id }, id.length > 8 ? `${id.slice(0, 8)}…` : id);

/**
 * @param {Node} node
 * @param {HTMLElement} heartbeat the cell the ticker keeps current
 */
function nodeRow(node, heartbeat) {
  const roles = Array.isArray(node.roles) ? node.roles.join(', ') : (node.role ?? '');
  return h(
    'tr',
    { 'data-node-id': node.id },
    h('th', { scope: 'row' }, shortId(String(node.id))),
    h('td', null, roles),
    h('td', null, node.host ?? ''),
    h('td', null, String(node.pid ?? '')),
    h('td', null, node.version ?? ''),
    h('td', null, node.is_leader ? h('span', { class: 'badge tone-ok' }, '★ leader') : ''),
    heartbeat,
  );
}

/** @param {Node | null} leader */
function leaderSummary(leader) {
  if (!leader) return h('p', { class: 'notice' }, 'No leader: no scheduler holds the baton, so nothing fires.');
  return h(
    'p',
    null,
    'Leader: ',
    shortId(String(leader.id)),
    ` on ${leader.host ?? '?'} (pid ${leader.pid ?? '?'})`,
    leader.started_at ? `, running since ${formatInZone(leader.started_at)}` : '',
  );
}

/** @param {Array<{ at: string, node_id: string, host?: string, pid?: number }> | undefined} changes newest first */
function leaderChanges(changes) {
  const heading = h('h2', null, 'Leader changes (last 24 h)');
  if (!changes) return [heading, h('p', { class: 'muted' }, 'This server does not report leader changes.')];
  if (changes.length === 0) return [heading, h('p', { class: 'muted' }, 'None in the last 24 hours.')];
  const items = changes.map((change) =>
    h(
      'li',
      null,
      h('time', { datetime: change.at }, formatInZone(change.at)),
      ' ',
      shortId(String(change.node_id)),
      change.host ? ` on ${change.host}${change.pid ? ` (pid ${change.pid})` : ''}` : '',
    ),
  );
  return [heading, h('ol', { class: 'plain-list' }, items)];
}
