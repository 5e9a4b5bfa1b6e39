// The five-level tree (district → subdistrict → management area → community → grid, and the
// departments) with each unit's backlog: the open events whose grid or current unit lies in its
// subtree. A click selects the unit as the scope of every view and opens its children; only open
// branches are in the DOM, so the tree stays small however large the district is.

import type { Context, View } from '../context';
import { h, setText } from '../lib/dom';
import { levelName, t } from '../lib/i18n';
import type { Topology, TopoUnit } from '../lib/topology';

// Open events per unit, counted into every ancestor of the event's grid and of its unit (once
// per unit even when both paths pass through it).
export function backlogByUnit(
  topology: Topology,
  events: Iterable<{ gridId: string; unitId: string }>,
): Map<string, number> {
  const counts = new Map<string, number>();
  const seen = new Set<string>();
  for (const event of events) {
    seen.clear();
    for (const id of [event.gridId, event.unitId]) {
      const unit = topology.get(id);
      if (unit === undefined) {
        continue;
      }
      for (const ancestor of unit.ancestors) {
        if (!seen.has(ancestor)) {
          seen.add(ancestor);
          counts.set(ancestor, (counts.get(ancestor) ?? 0) + 1);
        }
      }
    }
  }
  return counts;
}

export function mountTree(context: Context): View {
  const { store } = context;
  const element = h('nav', { class: 'tree', 'aria-label': t('tree.title') });
  const expanded = new Set<string>();
  const badges = new Map<string, HTMLElement>();
  let backlog = new Map<string, number>();

  const expandPathTo = (id: string): void => {
    for (const unit of store.topology?.pathTo(id) ?? []) {
      expanded.add(unit.id);
    }
  };

  const node = (topology: Topology, unit: TopoUnit): HTMLElement => {
    const children = topology.childrenOf(unit.id);
    const open = expanded.has(unit.id);
    const badge = h('span', { class: 'badge' }, String(backlog.get(unit.id) ?? 0));
    badges.set(unit.id, badge);
    const row = h(
      'button',
      {
        class: `tree-row${unit.id === store.scope ? ' selected' : ''}${unit.department ? ' department' : ''}`,
        type: 'button',
        'data-unit': unit.id,
        title: `${levelName(unit.level)} ${unit.id}`,
      },
      h('span', { class: 'twisty' }, children.length === 0 ? '' : open ? '▾' : '▸'),
      h('span', { class: 'tree-name' }, unit.name),
      badge,
    );
    const item = h('li', {}, row);
    if (open && children.length > 0) {
      const list = h('ul', {});
      let departmentsHeader = false;
      for (const child of children) {
        if (child.department && !departmentsHeader) {
          departmentsHeader = true;
          list.appendChild(h('li', { class: 'tree-group' }, t('tree.departments')));
        }
        list.appendChild(node(topology, child));
      }
      item.appendChild(list);
    }
    return item;
  };

  const render = (): void => {
    const topology = store.topology;
    badges.clear();
    if (topology === null) {
      element.replaceChildren();
      return;
    }
    expandPathTo(store.scope);
    const root = topology.get(topology.rootId);
    element.replaceChildren(h('h2', {}, t('tree.title')));
    if (root !== undefined) {
      element.appendChild(h('ul', { class: 'tree-root' }, node(topology, root)));
    }
  };

  const updateBadges = (): void => {
    const topology = store.topology;
    if (topology === null) {
      return;
    }
    backlog = backlogByUnit(topology, store.open.values());
    for (const [id, badge] of badges) {
      const count = backlog.get(id) ?? 0;
      setText(badge, String(count));
      badge.classList.toggle('zero', count === 0);
    }
  };

  element.addEventListener('click', (click) => {
    const row = (click.target as Element).closest<HTMLElement>('[data-unit]');
    const id = row?.dataset['unit'];
    if (id === undefined) {
      return;
    }
    if (id === store.scope && expanded.has(id)) {
      expanded.delete(id);
      render();
      updateBadges();
      return;
    }
    expanded.add(id);
    store.setScope(id);
  });

  const undo = [
    store.subscribe(['topology', 'scope', 'lang'], () => {
      render();
      updateBadges();
    }),
    store.subscribe(['open'], updateBadges, 500, 'tree-backlog'),
  ];
  render();
  updateBadges();
  return {
    element,
    destroy: () => undo.forEach((fn) => fn()),
  };
}
