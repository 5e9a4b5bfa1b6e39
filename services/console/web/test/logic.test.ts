// Unit tests of the page's logic that needs no browser: Beijing days, the store's bounds and
// batching, "in the subtree", the map's colouring, the tree's backlog, list filters, the moves
// offered per role and state, and the API client's query strings.
import { describe, expect, it } from 'vitest';
import { queryString } from '../src/api/client';
import { lang, setLang, stateName, t } from '../src/lib/i18n';
import { parseRoute } from '../src/router';
import type { EventChange, Unit } from '../src/api/types';
import { durationMs } from '../src/api/types';
import { beijingDay, beijingDayStart, formatDateTime } from '../src/lib/time';
import { Topology } from '../src/lib/topology';
import { FEED_CAPACITY, FRAME_BUDGET_MS, OPEN_CAPACITY, Ring, Store } from '../src/store';
import { type Filters, applyFilters, eventsQuery } from '../src/views/lists';
import { moveBody, movesFor } from '../src/views/event';
import { closureRate, gridMarks, onTimeRate, responseByLevel } from '../src/views/screen';
import { backlogByUnit } from '../src/views/tree';

const units: Unit[] = [
  { id: '370212', level: 'LEVEL_DISTRICT', name: '崂山区' },
  { id: '370212D01', level: 'LEVEL_DISTRICT', parent_id: '370212', name: '城管局', kind: 'UNIT_KIND_DEPARTMENT' },
  { id: '370212001', level: 'LEVEL_SUBDISTRICT', parent_id: '370212', name: '中韩街道' },
  { id: '370212002', level: 'LEVEL_SUBDISTRICT', parent_id: '370212', name: '沙子口街道' },
  { id: '370212001Z01', level: 'LEVEL_ZONE', parent_id: '370212001', name: '一管区' },
  { id: '370212001001', level: 'LEVEL_COMMUNITY', parent_id: '370212001Z01', name: '社区一' },
  { id: '37021200100101', level: 'LEVEL_GRID', parent_id: '370212001001', name: '网格一', center: { lat: 36.1, lng: 120.4 } },
  { id: '37021200100102', level: 'LEVEL_GRID', parent_id: '370212001001', name: '网格二', center: { lat: 36.2, lng: 120.5 } },
  { id: '370212002Z01', level: 'LEVEL_ZONE', parent_id: '370212002', name: '二管区' },
  { id: '370212002001', level: 'LEVEL_COMMUNITY', parent_id: '370212002Z01', name: '社区二' },
  { id: '37021200200101', level: 'LEVEL_GRID', parent_id: '370212002001', name: '网格三', center: { lat: 36.3, lng: 120.6 } },
];
const topology = new Topology(units);

function change(id: string, version: number, extra: Partial<EventChange> = {}): EventChange {
  return {
    event_id: id,
    kind: 'CHANGE_KIND_DISPATCHED',
    at: '2026-11-30T08:00:00Z',
    version: String(version),
    grid_id: '37021200100101',
    to_unit_id: '370212001001',
    to_state: 'EVENT_STATE_DISPATCHED',
    traffic_light: 'TRAFFIC_LIGHT_GREEN',
    ...extra,
  };
}

function manualStore(): { store: Store; frames: (() => void)[]; clock: { now: number } } {
  const frames: (() => void)[] = [];
  const clock = { now: 0 };
  const store = new Store(
    (callback) => frames.push(callback),
    () => clock.now,
  );
  return { store, frames, clock };
}

describe('Beijing days', () => {
  it('start at 16:00 UTC of the day before', () => {
    // 2026-11-30 07:59 Beijing is 2026-11-29 23:59 UTC: still the 30th in Beijing.
    expect(beijingDayStart(Date.parse('2026-11-29T23:59:00Z'))).toBe(Date.parse('2026-11-29T16:00:00Z'));
    // 00:01 UTC on the 30th is 08:01 Beijing, the same Beijing day.
    expect(beijingDayStart(Date.parse('2026-11-30T00:01:00Z'))).toBe(Date.parse('2026-11-29T16:00:00Z'));
    // 15:59 UTC is 23:59 Beijing; 16:00 UTC is the next Beijing day.
    expect(beijingDayStart(Date.parse('2026-11-30T15:59:59Z'))).toBe(Date.parse('2026-11-29T16:00:00Z'));
    expect(beijingDayStart(Date.parse('2026-11-30T16:00:00Z'))).toBe(Date.parse('2026-11-30T16:00:00Z'));
  });
  it('go back whole days', () => {
    const day = beijingDay(Date.parse('2026-11-30T12:00:00Z'), 6);
    expect(day.start).toBe(Date.parse('2026-11-23T16:00:00Z'));
    expect(day.end - day.start).toBe(86400000);
  });
  it('are shown in Beijing time whatever the browser zone', () => {
    expect(formatDateTime(Date.parse('2026-11-29T16:00:00Z'))).toContain('2026/11/30 00:00:00');
  });
});

describe('Topology', () => {
  it('finds the root, children in order and departments last', () => {
    expect(topology.rootId).toBe('370212');
    expect(topology.childrenOf('370212').map((unit) => unit.id)).toEqual(['370212001', '370212002', '370212D01']);
  });
  it('puts an event in a subtree by its grid or its current unit', () => {
    expect(topology.eventInSubtree('37021200100101', '370212001001', '370212001')).toBe(true);
    // At a district department now, but its grid is still in the subdistrict.
    expect(topology.eventInSubtree('37021200100101', '370212D01', '370212001')).toBe(true);
    expect(topology.eventInSubtree('37021200100101', '370212D01', '370212002')).toBe(false);
    expect(topology.eventInSubtree('37021200200101', '370212D01', '370212D01')).toBe(true);
  });
  it('takes a subtree (a handler sees only their unit) with its top as root', () => {
    const sub = new Topology(units.filter((unit) => (unit.id ?? '').startsWith('370212002')));
    expect(sub.rootId).toBe('370212002');
    expect(sub.gridsOf(sub.rootId).map((grid) => grid.id)).toEqual(['37021200200101']);
  });
});

describe('Store', () => {
  it('keeps the feed bounded', () => {
    const { store } = manualStore();
    for (let i = 0; i < FEED_CAPACITY + 500; i++) {
      store.ingest(change(`e${i}`, 1));
    }
    expect(store.feed.size).toBe(FEED_CAPACITY);
    expect(store.feed.newest(1)[0]?.event_id).toBe(`e${FEED_CAPACITY + 499}`);
  });
  it('keeps open events bounded, the stalest dropped first', () => {
    const { store } = manualStore();
    for (let i = 0; i < OPEN_CAPACITY + 10; i++) {
      store.ingest(change(`e${i}`, 1));
    }
    expect(store.open.size).toBe(OPEN_CAPACITY);
    expect(store.open.has('e0')).toBe(false);
    expect(store.open.has(`e${OPEN_CAPACITY + 9}`)).toBe(true);
  });
  it('drops final events and ignores older versions', () => {
    const { store } = manualStore();
    store.ingest(change('a', 3, { to_state: 'EVENT_STATE_ACCEPTED' }));
    store.ingest(change('a', 2, { to_state: 'EVENT_STATE_DISPATCHED' }));
    expect(store.open.get('a')?.state).toBe('EVENT_STATE_ACCEPTED');
    store.ingest(change('a', 5, { to_state: 'EVENT_STATE_CLOSED' }));
    expect(store.open.has('a')).toBe(false);
    // A listing fetched before the close does not bring it back.
    store.resetOpen([
      { id: 'a', gridId: '', unitId: '', subdistrictId: '', state: 'EVENT_STATE_ACCEPTED', level: 'LEVEL_GRID', light: 'TRAFFIC_LIGHT_GREEN', severity: 'SEVERITY_LOW', category: '', version: 3, at: 0 },
    ]);
    expect(store.open.has('a')).toBe(false);
    // Once a listing asked for after the close is applied, the close is forgotten (bounded).
    const since = store.beginListing();
    store.resetOpen([], since);
    store.resetOpen([
      { id: 'a', gridId: '', unitId: '', subdistrictId: '', state: 'EVENT_STATE_ACCEPTED', level: 'LEVEL_GRID', light: 'TRAFFIC_LIGHT_GREEN', severity: 'SEVERITY_LOW', category: '', version: 3, at: 0 },
    ]);
    expect(store.open.has('a')).toBe(true);
  });
  it('tells listeners once per frame, and not more often than they asked', () => {
    const { store, frames, clock } = manualStore();
    let feedRuns = 0;
    let slowRuns = 0;
    store.subscribe(['feed'], () => feedRuns++);
    store.subscribe(['feed'], () => slowRuns++, 500);
    for (let i = 0; i < 100; i++) {
      store.ingest(change(`e${i}`, 1));
    }
    expect(frames.length).toBe(1);
    frames.shift()!();
    expect([feedRuns, slowRuns]).toEqual([1, 1]);
    clock.now = 100;
    store.ingest(change('x', 1));
    frames.shift()!();
    expect([feedRuns, slowRuns]).toEqual([2, 1]);
    // The slow listener's run is deferred to a later frame, not lost.
    clock.now = 600;
    frames.shift()!();
    expect([feedRuns, slowRuns]).toEqual([2, 2]);
  });
  it('leaves the listeners due after the budget of a frame for the next, first in line there', () => {
    const { store, frames, clock } = manualStore();
    const runs: string[] = [];
    // A redraw that takes longer than the budget, and two cheap ones subscribed after it.
    store.subscribe(['open'], () => {
      runs.push('map');
      clock.now += FRAME_BUDGET_MS + 5;
    });
    store.subscribe(['open'], () => runs.push('tree'));
    store.subscribe(['open'], () => runs.push('counters'));
    store.ingest(change('e1', 1));
    frames.shift()!();
    expect(runs).toEqual(['map']);
    // The rest in the next frame, before what is newly due there (the map again, for e2).
    expect(frames.length).toBe(1);
    store.ingest(change('e2', 1));
    frames.shift()!();
    expect(runs).toEqual(['map', 'tree', 'counters', 'map']);
    expect(frames.length).toBe(0);
  });
  it('runs a listener that asked for it in a task of its own, after the frame', () => {
    const frames: (() => void)[] = [];
    const tasks: (() => void)[] = [];
    const store = new Store(
      (callback) => frames.push(callback),
      () => 0,
      (callback) => tasks.push(callback),
    );
    const runs: string[] = [];
    store.subscribe(['open'], () => runs.push('map'), 0, 'map', true);
    const unsubscribeTree = store.subscribe(['open'], () => runs.push('tree'));
    store.ingest(change('e1', 1));
    frames.shift()!();
    expect(runs).toEqual(['tree']);
    expect(tasks.length).toBe(1);
    tasks.shift()!();
    expect(runs).toEqual(['tree', 'map']);
    // A view gone before its task runs is not drawn.
    unsubscribeTree();
    const unsubscribeMap = store.subscribe(['open'], () => runs.push('gone'), 0, 'gone', true);
    store.ingest(change('e2', 1));
    frames.shift()!();
    unsubscribeMap();
    for (const task of tasks.splice(0)) {
      task();
    }
    expect(runs).toEqual(['tree', 'map', 'map']);
  });
  it('narrows changes to the scope', () => {
    const { store } = manualStore();
    store.setTopology(topology);
    store.setScope('370212002');
    expect(store.changeInScope(change('a', 1))).toBe(false);
    expect(store.changeInScope(change('b', 1, { grid_id: '37021200200101', to_unit_id: '370212002001' }))).toBe(true);
    // The change that moved an event out of the scope is still shown there.
    expect(store.changeInScope(change('c', 1, { grid_id: '37021200200101', from_unit_id: '370212002001', to_unit_id: '370212D01' }))).toBe(true);
  });
});

describe('Ring', () => {
  it('returns the newest first, filtered', () => {
    const ring = new Ring<number>(3);
    [1, 2, 3, 4].forEach((n) => ring.push(n));
    expect(ring.newest(10)).toEqual([4, 3, 2]);
    expect(ring.newest(10, (n) => n % 2 === 0)).toEqual([4, 2]);
  });
});

describe('Map and tree', () => {
  const open = [
    { id: 'a', gridId: '37021200100101', unitId: '370212001001', subdistrictId: '370212001', state: 'EVENT_STATE_DISPATCHED' as const, level: 'LEVEL_COMMUNITY' as const, light: 'TRAFFIC_LIGHT_GREEN' as const, severity: 'SEVERITY_LOW' as const, category: '0102', version: 2, at: 0 },
    { id: 'b', gridId: '37021200100101', unitId: '370212D01', subdistrictId: '370212001', state: 'EVENT_STATE_DISPATCHED' as const, level: 'LEVEL_DISTRICT' as const, light: 'TRAFFIC_LIGHT_RED' as const, severity: 'SEVERITY_LOW' as const, category: '0102', version: 2, at: 0 },
    { id: 'c', gridId: '37021200200101', unitId: '', subdistrictId: '370212002', state: 'EVENT_STATE_REPORTED' as const, level: 'LEVEL_UNSPECIFIED' as const, light: 'TRAFFIC_LIGHT_UNSPECIFIED' as const, severity: 'SEVERITY_LOW' as const, category: '0102', version: 1, at: 0 },
  ];
  it('colours a grid by its worst light and counts its open events', () => {
    const marks = new Map(gridMarks(topology, '370212', open).map((mark) => [mark.gridId, mark]));
    expect(marks.get('37021200100101')).toEqual({ gridId: '37021200100101', open: 2, light: 'TRAFFIC_LIGHT_RED' });
    expect(marks.get('37021200100102')).toEqual({ gridId: '37021200100102', open: 0, light: 'NONE' });
    expect(marks.get('37021200200101')?.light).toBe('TRAFFIC_LIGHT_UNSPECIFIED');
    expect(gridMarks(topology, '370212002', open).map((mark) => mark.gridId)).toEqual(['37021200200101']);
  });
  it('counts backlog into every ancestor once', () => {
    const backlog = backlogByUnit(topology, open);
    expect(backlog.get('370212')).toBe(3);
    expect(backlog.get('370212001')).toBe(2);
    expect(backlog.get('370212D01')).toBe(1);
    expect(backlog.get('370212001001')).toBe(2);
    expect(backlog.get('370212002')).toBe(1);
  });
});

describe('Rates', () => {
  it('show no figure when nothing fell due, not 0%', () => {
    expect(onTimeRate({ due: '0', deferred: '0', on_time_closure_rate: 0 })).toBeNull();
    expect(onTimeRate({ due: '3', deferred: '3', on_time_closure_rate: 0 })).toBeNull();
    expect(onTimeRate({ due: '4', deferred: '1', on_time_closure_rate: 2 / 3 })).toBeCloseTo(2 / 3);
    expect(closureRate({ reported: '2', duplicates: '2' })).toBeNull();
    expect(closureRate({ reported: '5', duplicates: '1', closure_rate: 0.5 })).toBe(0.5);
    expect(onTimeRate(null)).toBeNull();
  });
});

describe('Response times', () => {
  it('are the means of GetStats sums per level, lowest level first, untimed levels left out', () => {
    expect(
      responseByLevel([
        { group: { level: 'community' }, accepted: '3', accept_seconds_sum: 660, closed_timed: '2', close_seconds_sum: 1500 },
        { group: { level: 'grid' }, accepted: '1', accept_seconds_sum: 60, closed_timed: '0', close_seconds_sum: 0 },
        { group: { level: 'zone' }, accepted: '0', closed_timed: '0', reported: '4' },
      ]),
    ).toEqual([
      { level: 'LEVEL_GRID', acceptMinutes: 1, closeMinutes: null },
      { level: 'LEVEL_COMMUNITY', acceptMinutes: 3.67, closeMinutes: 12.5 },
    ]);
    expect(responseByLevel([])).toEqual([]);
  });
  it('add rows of one level as sums, not as a mean of means', () => {
    expect(
      responseByLevel([
        { group: { level: 'grid' }, accepted: '1', accept_seconds_sum: 60 },
        { group: { level: 'grid' }, accepted: '3', accept_seconds_sum: 660 },
      ])[0]?.acceptMinutes,
    ).toBe(3);
  });
});

describe('Lists', () => {
  const rows = [
    { event: { id: 'a', state: 'EVENT_STATE_DISPATCHED' as const, level: 'LEVEL_GRID' as const, category: '0102', severity: 'SEVERITY_HIGH' as const, reported_at: '2026-11-30T01:00:00Z' }, light: 'TRAFFIC_LIGHT_GREEN' as const, timeLeftMs: null },
    { event: { id: 'b', state: 'EVENT_STATE_ACCEPTED' as const, level: 'LEVEL_COMMUNITY' as const, category: '0501', severity: 'SEVERITY_LOW' as const, reported_at: '2026-11-30T03:00:00Z' }, light: 'TRAFFIC_LIGHT_RED' as const, timeLeftMs: null },
  ];
  const none: Filters = { states: [], level: '', category: '', minSeverity: '', from: '', to: '' };
  it('filter by state, level, category, severity and time', () => {
    const ids = (filters: Partial<Filters>) => applyFilters(rows, { ...none, ...filters }).map((row) => row.event.id);
    expect(ids({})).toEqual(['a', 'b']);
    expect(ids({ states: ['EVENT_STATE_ACCEPTED'] })).toEqual(['b']);
    expect(ids({ level: 'LEVEL_GRID' })).toEqual(['a']);
    expect(ids({ category: '05' })).toEqual(['b']);
    expect(ids({ minSeverity: 'SEVERITY_NORMAL' })).toEqual(['a']);
    expect(ids({ from: '2026-11-30T10:00:00+08:00' })).toEqual(['b']);
    expect(ids({ to: '2026-11-30T10:00:00+08:00' })).toEqual(['a']);
  });
});

describe('List queries', () => {
  const none: Filters = { states: [], level: '', category: '', minSeverity: '', from: '', to: '' };
  it('ask the server for pressed open events on the 督办 tab', () => {
    const query = eventsQuery('supervised', '370212001', none, 100, '');
    expect(query.supervised).toBe(true);
    expect(query.states).toContain('EVENT_STATE_DISPATCHED');
    expect(query.states).not.toContain('EVENT_STATE_CLOSED');
    expect(eventsQuery('supervised', '', { ...none, states: ['EVENT_STATE_CLOSED'] }, 100, '').states).toEqual([
      'EVENT_STATE_CLOSED',
    ]);
    expect(eventsQuery('events', '', none, 100, '').supervised).toBeUndefined();
  });
  it('send the severity filter as min_severity', () => {
    expect(eventsQuery('events', '', { ...none, minSeverity: 'SEVERITY_HIGH' }, 100, '').min_severity).toBe('SEVERITY_HIGH');
    expect(eventsQuery('events', '', none, 100, '').min_severity).toBeUndefined();
    expect(queryString({ ...eventsQuery('supervised', '370212001', { ...none, minSeverity: 'SEVERITY_HIGH' }, 100, 't') })).toBe(
      '?unit_id=370212001&states=EVENT_STATE_REPORTED&states=EVENT_STATE_DISPATCHED&states=EVENT_STATE_ACCEPTED' +
        '&states=EVENT_STATE_RESOLVED&states=EVENT_STATE_SUSPENDED&min_severity=SEVERITY_HIGH&supervised=true&page_size=100&page_token=t',
    );
  });
});

describe('Moves', () => {
  it('offers a handler the moves of its queue, in the state that allows them', () => {
    expect(movesFor('ROLE_HANDLER', 'EVENT_STATE_DISPATCHED').map((m) => m.key)).toEqual([
      'move.accept',
      'move.return',
      'move.escalate',
      'move.suspend',
    ]);
    expect(movesFor('ROLE_HANDLER', 'EVENT_STATE_SUSPENDED')).toEqual([]);
    expect(movesFor('ROLE_WORKER', 'EVENT_STATE_RESOLVED').map((m) => m.key)).toEqual(['move.verifyPass', 'move.verifyFail']);
    expect(movesFor('ROLE_OPERATOR', 'EVENT_STATE_CLOSED')).toEqual([]);
  });
  it('sends the version shown', () => {
    const accept = movesFor('ROLE_HANDLER', 'EVENT_STATE_DISPATCHED')[0]!;
    expect(moveBody(accept, { version: '7' }, '', '')).toEqual({ expected_version: '7' });
    const reassign = movesFor('ROLE_OPERATOR', 'EVENT_STATE_DISPATCHED').find((m) => m.move === 'reassign')!;
    expect(moveBody(reassign, { version: '2' }, 'wrong unit', '370212002')).toEqual({
      expected_version: '2',
      reason: 'wrong unit',
      unit_id: '370212002',
    });
  });
});

describe('API client', () => {
  it('repeats repeated fields and leaves out empty ones', () => {
    expect(queryString({ unit_id: '370212', states: ['EVENT_STATE_DISPATCHED', 'EVENT_STATE_ACCEPTED'], page_token: '', x: undefined })).toBe(
      '?unit_id=370212&states=EVENT_STATE_DISPATCHED&states=EVENT_STATE_ACCEPTED',
    );
  });
  it('reads durations', () => {
    expect(durationMs('7200s')).toBe(7200000);
    expect(durationMs('-12.500s')).toBe(-12500);
    expect(durationMs(undefined)).toBe(0);
  });
});

describe('Words and routes', () => {
  it('speak Chinese by default and English on request', () => {
    expect(lang()).toBe('zh');
    expect(stateName('EVENT_STATE_ACCEPTED')).toBe('处置中');
    setLang('en');
    expect(t('nav.screen')).toBe('Big screen');
    expect(stateName('EVENT_STATE_ACCEPTED')).toBe('Accepted');
    setLang('zh');
    expect(t('nav.screen')).toBe('大屏');
  });
  it('map paths to views', () => {
    expect(parseRoute('/', '')).toEqual({ name: 'screen' });
    expect(parseRoute('/events/370212001-01JDX', '')).toEqual({ name: 'event', eventId: '370212001-01JDX' });
    expect(parseRoute('/units/370212001', '')).toEqual({ name: 'unit', unitId: '370212001' });
    expect(parseRoute('/lists', '?tab=overdue')).toEqual({ name: 'lists', tab: 'overdue' });
    expect(parseRoute('/signin', '?error=code')).toEqual({ name: 'signin', error: 'code' });
    expect(parseRoute('/nope/x/y', '').name).toBe('notfound');
  });
});
