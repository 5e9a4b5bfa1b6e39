// Queues and lists of the scope: the unit's work queue in ListUnitQueue's order, the overdue
// events, the supervised ones, and a filtered search (state, level, category, severity, time).
// Lists are fetched on demand and bounded (a "more" button pages on, up to a cap).

import { ApiError, type ListEventsQuery } from '../api/client';
import type { Event, EventState, Level, QueueItem, Severity, TrafficLight } from '../api/types';
import { EVENT_STATES, LEVELS, SEVERITIES, durationMs, timeMs } from '../api/types';
import type { Context, View } from '../context';
import { h, LIGHT_CLASS } from '../lib/dom';
import { type MessageKey, levelName, lightName, severityName, stateName, t } from '../lib/i18n';
import { formatDateTime, formatSpan, rfc3339 } from '../lib/time';
import { OPEN_STATES } from '../live';
import { eventPath } from '../router';

export type Tab = 'queue' | 'overdue' | 'supervised' | 'events';
const TABS: Tab[] = ['queue', 'overdue', 'supervised', 'events'];
const TAB_LABEL: Record<Tab, MessageKey> = {
  queue: 'lists.queue',
  overdue: 'lists.overdue',
  supervised: 'lists.supervised',
  events: 'lists.events',
};
const PAGE_SIZE = 100;
const MAX_ROWS = 1000;
const SEVERITY_RANK: Record<Severity, number> = {
  SEVERITY_UNSPECIFIED: 0,
  SEVERITY_LOW: 1,
  SEVERITY_NORMAL: 2,
  SEVERITY_HIGH: 3,
  SEVERITY_CRITICAL: 4,
};

interface Row {
  event: Event;
  light: TrafficLight;
  timeLeftMs: number | null;
}

export interface Filters {
  states: EventState[];
  level: Level | '';
  category: string;
  minSeverity: Severity | '';
  from: string;
  to: string;
}

// What the filters leave of rows the server returned: ListEvents applies every filter itself (this
// changes nothing there), but the queue and overdue lists take none, so they apply here.
export function applyFilters(rows: Row[], filters: Filters): Row[] {
  const from = filters.from === '' ? Number.NEGATIVE_INFINITY : Date.parse(filters.from);
  const to = filters.to === '' ? Number.POSITIVE_INFINITY : Date.parse(filters.to);
  return rows.filter(({ event }) => {
    const reported = timeMs(event.reported_at ?? event.created_at);
    return (
      (filters.states.length === 0 || filters.states.includes(event.state ?? 'EVENT_STATE_UNSPECIFIED')) &&
      (filters.level === '' || event.level === filters.level) &&
      (filters.category === '' || (event.category ?? '').startsWith(filters.category)) &&
      (filters.minSeverity === '' ||
        SEVERITY_RANK[event.severity ?? 'SEVERITY_UNSPECIFIED'] >= SEVERITY_RANK[filters.minSeverity]) &&
      !(reported < from) &&
      !(reported >= to)
    );
  });
}

// The ListEvents query of the "supervised" and "events" tabs: every filter goes to the server, so
// that a page holds page_size matching events (the 督办 list asks for pressed events, open ones
// unless states are chosen).
export function eventsQuery(
  tab: 'supervised' | 'events',
  scope: string,
  filters: Filters,
  pageSize: number,
  pageToken: string,
): ListEventsQuery {
  return {
    unit_id: scope,
    states: tab === 'supervised' && filters.states.length === 0 ? OPEN_STATES : filters.states,
    levels: filters.level === '' ? undefined : [filters.level],
    category_prefix: filters.category,
    min_severity: filters.minSeverity === '' ? undefined : filters.minSeverity,
    supervised: tab === 'supervised' ? true : undefined,
    reported_after: filters.from === '' ? undefined : rfc3339(Date.parse(filters.from)),
    reported_before: filters.to === '' ? undefined : rfc3339(Date.parse(filters.to)),
    page_size: pageSize,
    page_token: pageToken,
  };
}

function fromEvent(event: Event): Row {
  return { event, light: event.traffic_light ?? 'TRAFFIC_LIGHT_UNSPECIFIED', timeLeftMs: null };
}
function fromQueueItem(item: QueueItem): Row {
  return {
    event: item.event ?? {},
    light: item.traffic_light ?? item.event?.traffic_light ?? 'TRAFFIC_LIGHT_UNSPECIFIED',
    timeLeftMs: item.time_left === undefined ? null : durationMs(item.time_left),
  };
}

function select<T extends string>(
  name: string,
  options: readonly T[],
  label: (value: T) => string,
  value: string,
  multiple = false,
): HTMLSelectElement {
  const element = h('select', { name, multiple, 'aria-label': name });
  if (!multiple) {
    element.appendChild(h('option', { value: '' }, t('lists.any')));
  }
  for (const option of options) {
    element.appendChild(h('option', { value: option, selected: option === value }, label(option)));
  }
  return element;
}

export function mountLists(context: Context, initialTab: string): View {
  const { store, api } = context;
  let tab: Tab = (TABS as string[]).includes(initialTab) ? (initialTab as Tab) : 'queue';
  let rows: Row[] = [];
  let nextToken = '';
  let generation = 0;

  const tabs = h('div', { class: 'tabs', role: 'tablist' });
  const states = select('states', EVENT_STATES, stateName, '', true);
  const level = select('level', LEVELS, levelName, '');
  const category = h('input', { name: 'category', placeholder: t('lists.category'), size: 6 });
  const severity = select('min_severity', SEVERITIES, severityName, '');
  const from = h('input', { name: 'from', type: 'datetime-local', 'aria-label': t('lists.from') });
  const to = h('input', { name: 'to', type: 'datetime-local', 'aria-label': t('lists.to') });
  const apply = h('button', { type: 'submit' }, t('lists.filter'));
  const form = h(
    'form',
    { class: 'filters' },
    h('label', {}, t('col.state'), states),
    h('label', {}, t('col.level'), level),
    h('label', {}, t('col.category'), category),
    h('label', {}, t('col.severity'), severity),
    h('label', {}, t('lists.from'), from),
    h('label', {}, t('lists.to'), to),
    apply,
  );
  const status = h('p', { class: 'status' });
  const body = h('tbody', {});
  const more = h('button', { type: 'button', class: 'more', hidden: true }, t('lists.more'));
  const table = h(
    'table',
    { class: 'list-table' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', {}, t('col.light')),
        h('th', {}, t('col.timeleft')),
        h('th', {}, t('col.state')),
        h('th', {}, t('col.level')),
        h('th', {}, t('col.unit')),
        h('th', {}, t('col.category')),
        h('th', {}, t('col.severity')),
        h('th', {}, t('event.created')),
        h('th', {}, t('col.event')),
      ),
    ),
    body,
  );
  const element = h('div', { class: 'lists panel' }, tabs, form, status, table, more);

  const filters = (): Filters => ({
    states: [...states.selectedOptions].map((option) => option.value as EventState),
    level: level.value as Level | '',
    category: category.value.trim(),
    minSeverity: severity.value as Severity | '',
    // datetime-local is read as Beijing time, the centre's clock.
    from: from.value === '' ? '' : `${from.value}:00+08:00`,
    to: to.value === '' ? '' : `${to.value}:00+08:00`,
  });

  const renderTabs = (): void => {
    tabs.replaceChildren(
      ...TABS.map((name) =>
        h(
          'button',
          {
            type: 'button',
            role: 'tab',
            class: name === tab ? 'active' : '',
            'aria-selected': name === tab ? 'true' : 'false',
            'data-tab': name,
          },
          t(TAB_LABEL[name]),
        ),
      ),
    );
  };

  const render = (): void => {
    const topology = store.topology;
    const shown = applyFilters(rows, filters());
    status.textContent = shown.length === 0 ? t('lists.empty') : `${shown.length}`;
    body.replaceChildren(
      ...shown.map(({ event, light, timeLeftMs }) =>
        h(
          'tr',
          { class: `list-row ${LIGHT_CLASS[light]}`, 'data-event': event.id ?? '' },
          h('td', {}, h('span', { class: 'dot' }, '●'), ' ', lightName(light)),
          h('td', {}, timeLeftMs === null ? '-' : formatSpan(timeLeftMs)),
          h('td', {}, stateName(event.state), event.supervised ? ` · ${t('event.supervised')}` : ''),
          h('td', {}, levelName(event.level)),
          h('td', {}, topology?.name(event.unit_id ?? '') ?? event.unit_id ?? ''),
          h('td', {}, event.category ?? ''),
          h('td', {}, severityName(event.severity)),
          h('td', {}, formatDateTime(timeMs(event.reported_at ?? event.created_at))),
          h('td', { class: 'mono' }, event.id ?? ''),
        ),
      ),
    );
    more.hidden = nextToken === '' || rows.length >= MAX_ROWS;
  };

  const fetchPage = async (pageToken: string): Promise<{ rows: Row[]; next: string }> => {
    const scope = store.scope;
    const f = filters();
    switch (tab) {
      case 'queue': {
        const page = await api.queue(scope, PAGE_SIZE, pageToken);
        return { rows: (page.items ?? []).map(fromQueueItem), next: page.next_page_token ?? '' };
      }
      case 'overdue': {
        const page = await api.overdue(scope, PAGE_SIZE, pageToken);
        return { rows: (page.events ?? []).map(fromEvent), next: page.next_page_token ?? '' };
      }
      case 'supervised':
      case 'events': {
        const page = await api.events(eventsQuery(tab, scope, f, PAGE_SIZE, pageToken));
        return { rows: (page.events ?? []).map(fromEvent), next: page.next_page_token ?? '' };
      }
    }
  };

  const load = async (append: boolean): Promise<void> => {
    const mine = ++generation;
    if (!append) {
      rows = [];
      nextToken = '';
      status.textContent = '…';
      body.replaceChildren();
    }
    try {
      const page = await fetchPage(append ? nextToken : '');
      if (mine !== generation) {
        return;
      }
      rows = rows.concat(page.rows).slice(0, MAX_ROWS);
      nextToken = page.next;
      render();
    } catch (error) {
      if (mine === generation) {
        status.textContent = `${t('error.load')}: ${error instanceof ApiError ? `${error.code}: ${error.message}` : String(error)}`;
      }
    }
  };

  tabs.addEventListener('click', (click) => {
    const name = (click.target as HTMLElement).closest<HTMLElement>('[data-tab]')?.dataset['tab'];
    if (name !== undefined && name !== tab) {
      tab = name as Tab;
      history.replaceState(null, '', `/lists?tab=${tab}`);
      renderTabs();
      void load(false);
    }
  });
  form.addEventListener('submit', (submit) => {
    submit.preventDefault();
    void load(false);
  });
  more.addEventListener('click', () => void load(true));
  body.addEventListener('click', (click) => {
    const id = (click.target as Element).closest<HTMLElement>('[data-event]')?.dataset['event'];
    if (id) {
      context.navigate(eventPath(id));
    }
  });

  renderTabs();
  const unsubscribe = store.subscribe(['scope', 'topology'], () => void load(false));
  if (store.topology !== null) {
    void load(false);
  }
  return { element, destroy: unsubscribe };
}
