// One event: its fields, its deadlines with a live countdown, its whole history as a timeline,
// and the moves the signed-in role may make. A move sends the version the page shows
// (expected_version), so acting on a stale page is refused, and the refusal's message (the
// gateway's, naming the state or the field at fault) is shown as it is.

import { ApiError, type MoveBody, type MoveName } from '../api/client';
import type { Event, EventChange, EventState, Role } from '../api/types';
import { FINAL_STATES, durationMs, timeMs } from '../api/types';
import type { Context, View } from '../context';
import { append, h, LIGHT_CLASS, setText } from '../lib/dom';
import {
  type MessageKey,
  kindName,
  levelName,
  lightName,
  roleName,
  severityName,
  stateName,
  t,
} from '../lib/i18n';
import { formatDateTime, formatSpan } from '../lib/time';

export interface MoveSpec {
  key: MessageKey;
  move: MoveName;
  roles: readonly Role[];
  states: readonly EventState[];
  // Free text the move needs (a reason or a note), and any other field.
  text?: 'reason' | 'note';
  unit?: 'unit_id' | 'approver_unit_id';
  passed?: boolean;
  versioned: boolean;
}

const ALL: readonly Role[] = ['ROLE_OPERATOR', 'ROLE_ADMIN'];
const OPEN: readonly EventState[] = [
  'EVENT_STATE_REPORTED',
  'EVENT_STATE_DISPATCHED',
  'EVENT_STATE_ACCEPTED',
  'EVENT_STATE_RESOLVED',
  'EVENT_STATE_SUSPENDED',
];
const WORKING: readonly EventState[] = ['EVENT_STATE_DISPATCHED', 'EVENT_STATE_ACCEPTED'];

// The moves, who may try them (README "Security": the gateway's table) and in which states the
// state machine allows them. The page offers only these; the gateway still decides.
export const MOVES: readonly MoveSpec[] = [
  { key: 'move.accept', move: 'accept', roles: ['ROLE_HANDLER', ...ALL], states: ['EVENT_STATE_DISPATCHED'], versioned: true },
  { key: 'move.resolve', move: 'resolve', roles: ['ROLE_HANDLER', ...ALL], states: ['EVENT_STATE_ACCEPTED'], text: 'note', versioned: true },
  { key: 'move.verifyPass', move: 'verify', roles: ['ROLE_WORKER', ...ALL], states: ['EVENT_STATE_RESOLVED'], text: 'note', passed: true, versioned: true },
  { key: 'move.verifyFail', move: 'verify', roles: ['ROLE_WORKER', ...ALL], states: ['EVENT_STATE_RESOLVED'], text: 'note', passed: false, versioned: true },
  { key: 'move.return', move: 'return', roles: ['ROLE_HANDLER', ...ALL], states: WORKING, text: 'reason', versioned: true },
  { key: 'move.escalate', move: 'escalate', roles: ['ROLE_HANDLER', ...ALL], states: WORKING, text: 'reason', versioned: true },
  { key: 'move.suspend', move: 'suspend', roles: ['ROLE_HANDLER', ...ALL], states: WORKING, text: 'reason', unit: 'approver_unit_id', versioned: true },
  { key: 'move.resume', move: 'resume', roles: ALL, states: ['EVENT_STATE_SUSPENDED'], versioned: true },
  { key: 'move.supervise', move: 'supervise', roles: ALL, states: OPEN, text: 'note', versioned: false },
  { key: 'move.reassign', move: 'reassign', roles: ALL, states: OPEN, text: 'reason', unit: 'unit_id', versioned: true },
  { key: 'move.cancel', move: 'cancel', roles: ['ROLE_WORKER', ...ALL], states: ['EVENT_STATE_REPORTED', 'EVENT_STATE_DISPATCHED'], text: 'reason', versioned: true },
  { key: 'move.void', move: 'void', roles: ALL, states: OPEN, text: 'reason', versioned: true },
];

export function movesFor(role: Role | undefined, state: EventState | undefined): MoveSpec[] {
  if (role === undefined || state === undefined || FINAL_STATES.has(state)) {
    return [];
  }
  return MOVES.filter((spec) => spec.roles.includes(role) && spec.states.includes(state));
}

export function moveBody(spec: MoveSpec, event: Event, text: string, unit: string): MoveBody {
  const body: MoveBody = {};
  if (spec.versioned) {
    body.expected_version = event.version ?? '0';
  }
  if (spec.text !== undefined && text !== '') {
    body[spec.text] = text;
  }
  if (spec.unit !== undefined && unit !== '') {
    body[spec.unit] = unit;
  }
  if (spec.passed !== undefined) {
    body.passed = spec.passed;
  }
  return body;
}

function field(label: string, value: string | Node, name = ''): HTMLElement {
  return h('div', { class: 'field', 'data-field': name || undefined }, h('dt', {}, label), h('dd', {}, value));
}

export function mountEvent(context: Context, eventId: string): View {
  const { store, api } = context;
  let event: Event | null = null;
  let seenChanges = -1;
  let busy = false;

  const title = h('h1', { class: 'event-title' }, `${t('event.title')} `, h('span', { class: 'mono' }, eventId));
  const fields = h('dl', { class: 'fields' });
  const deadlines = h('div', { class: 'deadlines' });
  const timeline = h('ol', { class: 'timeline' });
  const moves = h('div', { class: 'moves' });
  const text = h('input', { name: 'move-text', class: 'move-text', placeholder: t('event.note') });
  const unit = h('input', { name: 'move-unit', class: 'move-unit', placeholder: t('move.unit') });
  const outcome = h('p', { class: 'outcome', role: 'status', 'aria-live': 'polite' });
  const status = h('p', { class: 'status' });
  const element = h(
    'div',
    { class: 'event-page' },
    title,
    status,
    h(
      'div',
      { class: 'event-grid' },
      h('section', { class: 'panel' }, h('h2', {}, t('event.fields')), fields),
      h(
        'section',
        { class: 'panel' },
        h('h2', {}, t('event.deadlines')),
        deadlines,
        h('h2', {}, t('event.moves')),
        h('div', { class: 'move-inputs' }, text, unit),
        moves,
        outcome,
      ),
      h('section', { class: 'panel history' }, h('h2', {}, t('event.history')), timeline),
    ),
  );

  const countdowns: { element: HTMLElement; due: number }[] = [];
  const tick = (): void => {
    const now = Date.now();
    for (const countdown of countdowns) {
      const left = countdown.due - now;
      setText(countdown.element, left >= 0 ? `${t('event.left')} ${formatSpan(left)}` : `${t('event.over')} ${formatSpan(-left)}`);
      countdown.element.classList.toggle('over', left < 0);
    }
  };

  const renderEvent = (): void => {
    if (event === null) {
      return;
    }
    const topology = store.topology;
    const unitName = (id: string | undefined) => (id ? `${topology?.name(id) ?? id} (${id})` : '-');
    const light = event.traffic_light ?? 'TRAFFIC_LIGHT_UNSPECIFIED';
    fields.replaceChildren();
    append(
      fields,
      field(t('col.state'), stateName(event.state), 'state'),
      field(t('col.light'), h('span', { class: LIGHT_CLASS[light] }, '● ', lightName(light)), 'light'),
      field(t('col.level'), levelName(event.level), 'level'),
      field(t('event.unit'), unitName(event.unit_id), 'unit'),
      field(t('event.grid'), unitName(event.grid_id), 'grid'),
      field(t('col.category'), event.category ?? '', 'category'),
      field(t('col.severity'), severityName(event.severity), 'severity'),
      field(t('event.address'), event.address ?? '', 'address'),
      field(t('event.description'), event.description ?? '', 'description'),
      field(t('event.reporter'), event.reporter_id ?? '', 'reporter'),
      field(t('event.created'), formatDateTime(timeMs(event.reported_at ?? event.created_at)), 'created'),
      field(t('event.version'), event.version ?? '0', 'version'),
      event.supervised ? field(t('event.supervised'), event.supervision_note ?? '', 'supervised') : null,
      event.overdue ? field(t('event.overdue'), '✔', 'overdue') : null,
    );
    countdowns.length = 0;
    const d = event.deadlines;
    const rows: HTMLElement[] = [];
    const running = event.state === 'EVENT_STATE_DISPATCHED' || event.state === 'EVENT_STATE_ACCEPTED';
    for (const [key, due, limit, active] of [
      ['event.acceptBy', d?.accept_by, d?.accept_limit, event.state === 'EVENT_STATE_DISPATCHED'],
      ['event.resolveBy', d?.resolve_by, d?.resolve_limit, running],
    ] as const) {
      const dueMs = timeMs(due);
      if (!Number.isFinite(dueMs)) {
        continue;
      }
      const countdown = h('span', { class: 'countdown' });
      if (active) {
        countdowns.push({ element: countdown, due: dueMs });
      }
      rows.push(
        h(
          'div',
          { class: `deadline${active ? ' active' : ''}`, 'data-deadline': key },
          h('span', {}, t(key)),
          h('span', {}, formatDateTime(dueMs)),
          h('span', { class: 'limit' }, formatSpan(durationMs(limit))),
          active ? countdown : h('span', {}, event.state === 'EVENT_STATE_SUSPENDED' ? t('event.paused') : ''),
        ),
      );
    }
    deadlines.replaceChildren(...rows);
    tick();

    const available = movesFor(store.session?.role, event.state);
    unit.hidden = !available.some((spec) => spec.unit !== undefined);
    text.hidden = !available.some((spec) => spec.text !== undefined);
    moves.replaceChildren(
      ...available.map((spec) =>
        h(
          'button',
          { type: 'button', class: 'move', 'data-move': spec.key.slice('move.'.length), disabled: busy },
          t(spec.key),
        ),
      ),
    );
    moves.onclick = (click) => {
      const name = (click.target as HTMLElement).closest<HTMLElement>('[data-move]')?.dataset['move'];
      const spec = available.find((candidate) => candidate.key === `move.${name}`);
      if (spec !== undefined && event !== null) {
        void act(spec, event);
      }
    };
  };

  const renderHistory = (changes: EventChange[]): void => {
    const topology = store.topology;
    timeline.replaceChildren(
      ...changes.map((change) =>
        h(
          'li',
          { class: `step ${LIGHT_CLASS[change.traffic_light ?? 'TRAFFIC_LIGHT_UNSPECIFIED']}`, 'data-kind': change.kind ?? '' },
          h('span', { class: 'step-time' }, formatDateTime(timeMs(change.at))),
          h('span', { class: 'step-kind' }, kindName(change.kind)),
          h(
            'span',
            { class: 'step-detail' },
            `${stateName(change.from_state)} → ${stateName(change.to_state)}`,
            change.to_unit_id ? ` · ${levelName(change.to_level)} ${topology?.name(change.to_unit_id) ?? change.to_unit_id}` : '',
            change.actor?.subject ? ` · ${roleName(change.actor.role)} ${change.actor.subject}` : '',
            change.reason ? ` · ${change.reason}` : '',
            change.note ? ` · ${change.note}` : '',
          ),
        ),
      ),
    );
  };

  const load = async (): Promise<void> => {
    try {
      const [got, history] = await Promise.all([api.event(eventId), api.history(eventId)]);
      event = got.event ?? null;
      status.textContent = '';
      renderEvent();
      renderHistory(history.changes ?? []);
    } catch (error) {
      status.textContent = `${t('error.load')}: ${error instanceof ApiError ? `${error.code}: ${error.message}` : String(error)}`;
    }
  };

  const act = async (spec: MoveSpec, current: Event): Promise<void> => {
    busy = true;
    outcome.className = 'outcome';
    outcome.textContent = '…';
    try {
      const result = await api.move(eventId, spec.move, moveBody(spec, current, text.value.trim(), unit.value.trim()));
      outcome.className = 'outcome ok';
      outcome.textContent = `${t('event.done')}: ${t(spec.key)} → ${stateName(result.event?.state)}`;
      text.value = '';
    } catch (error) {
      outcome.className = 'outcome refused';
      outcome.textContent =
        error instanceof ApiError ? `${t('event.refused')} (${error.code}): ${error.message}` : `${t('event.refused')}: ${String(error)}`;
    } finally {
      busy = false;
    }
    await load();
  };

  // The event's own changes from the live feed reload it (its history grows).
  const onFeed = (): void => {
    const fresh = store.changesSeen - seenChanges;
    seenChanges = store.changesSeen;
    if (fresh <= 0) {
      return;
    }
    if (store.feed.newest(Math.min(fresh, 200), (change) => change.event_id === eventId).length > 0) {
      void load();
    }
  };

  seenChanges = store.changesSeen;
  const timer = window.setInterval(tick, 1000);
  const unsubscribe = [
    store.subscribe(['feed'], onFeed, 250),
    store.subscribe(['topology', 'session'], renderEvent),
  ];
  void load();
  return {
    element,
    destroy() {
      window.clearInterval(timer);
      unsubscribe.forEach((undo) => undo());
    },
  };
}
