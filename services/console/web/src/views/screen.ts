// The big screen (大屏): the district's grids on a map coloured by their open events and worst
// traffic light, today's counters per unit of the scope, the live feed in traffic-light colours,
// the scores per Beijing day, and the mean response times per level from GetStats. Everything
// comes from the API and the live feed through the store; each part redraws at most at its own
// pace, so a flood of changes costs a bounded amount of work per frame.

import type { EventChange, Level, StatsRow, TrafficLight } from '../api/types';
import { LEVELS, int64, timeMs } from '../api/types';
import type { Context, View } from '../context';
import { makeChart, TEXT_COLOR, AXIS_COLOR } from '../lib/charts';
import { h, LIGHT_CLASS, LIGHT_COLOR, setText } from '../lib/dom';
import { kindName, lang, levelName, severityName, t } from '../lib/i18n';
import { formatClock, formatMonthDay } from '../lib/time';
import type { Topology } from '../lib/topology';
import { eventPath } from '../router';
import { type OpenEvent, worseLight } from '../store';

export const FEED_ROWS = 40;
const MAP_INTERVAL_MS = 1000;
const CHART_INTERVAL_MS = 1000;
const LIGHT_RANK: Record<TrafficLight, number> = {
  TRAFFIC_LIGHT_UNSPECIFIED: 0,
  TRAFFIC_LIGHT_GREEN: 1,
  TRAFFIC_LIGHT_YELLOW: 2,
  TRAFFIC_LIGHT_RED: 3,
};
// The map's point size per series (light rank + 1): grids without open events small.
const MAP_SYMBOL_SIZE = [4, 9, 9, 11, 13];
// The map's colour per light rank (-1: no open event).
const LIGHT_BY_RANK: Record<string, string> = {
  '-1': LIGHT_COLOR['NONE']!,
  '0': LIGHT_COLOR['TRAFFIC_LIGHT_UNSPECIFIED']!,
  '1': LIGHT_COLOR['TRAFFIC_LIGHT_GREEN']!,
  '2': LIGHT_COLOR['TRAFFIC_LIGHT_YELLOW']!,
  '3': LIGHT_COLOR['TRAFFIC_LIGHT_RED']!,
};

// One grid on the map: its open events and their worst light ("NONE" when it has none).
export interface GridMark {
  gridId: string;
  open: number;
  light: TrafficLight | 'NONE';
}

// Per grid of the scope: the count of open events located in it and their worst light.
export function gridMarks(topology: Topology, scope: string, open: Iterable<OpenEvent>): GridMark[] {
  const marks = new Map<string, GridMark>();
  for (const grid of topology.gridsOf(scope)) {
    marks.set(grid.id, { gridId: grid.id, open: 0, light: 'NONE' });
  }
  for (const event of open) {
    const mark = marks.get(event.gridId);
    if (mark === undefined) {
      continue;
    }
    mark.open++;
    mark.light = mark.light === 'NONE' ? event.light : worseLight(mark.light, event.light);
  }
  return [...marks.values()];
}

// 按期结案率 = closed_on_time / (due − deferred), and null when nothing fell due: GetStats says
// 0 then, but an empty day is not a day of late closures, so the page shows no figure.
export function onTimeRate(row: StatsRow | null | undefined): number | null {
  return row && int64(row.due) - int64(row.deferred) > 0 ? (row.on_time_closure_rate ?? 0) : null;
}

// 结案率 = closed / (reported − duplicates), null when nothing was reported.
export function closureRate(row: StatsRow | null | undefined): number | null {
  return row && int64(row.reported) - int64(row.duplicates) > 0 ? (row.closure_rate ?? 0) : null;
}

function percent(rate: number | null): string {
  return rate === null ? '-' : `${(rate * 100).toFixed(1)}%`;
}

// The mean times to accept and to close of one level, minutes; null where nothing was timed.
export interface LevelResponse {
  level: Level;
  acceptMinutes: number | null;
  closeMinutes: number | null;
}

// GetStats rows grouped by level → the mean response times per level, lowest level first, levels
// with nothing timed left out. Means are sums over counts (accept_seconds_sum / accepted), so rows
// of one level (should a server ever split them) add up exactly.
export function responseByLevel(rows: readonly StatsRow[]): LevelResponse[] {
  const sums = new Map<string, { accepted: number; acceptS: number; closed: number; closeS: number }>();
  for (const row of rows) {
    const level = row.group?.['level'] ?? '';
    const sum = sums.get(level) ?? { accepted: 0, acceptS: 0, closed: 0, closeS: 0 };
    sum.accepted += int64(row.accepted);
    sum.acceptS += row.accept_seconds_sum ?? 0;
    sum.closed += int64(row.closed_timed);
    sum.closeS += row.close_seconds_sum ?? 0;
    sums.set(level, sum);
  }
  const minutes = (seconds: number, count: number) => (count > 0 ? Number((seconds / count / 60).toFixed(2)) : null);
  const out: LevelResponse[] = [];
  for (const level of LEVELS) {
    // GetStats names a level by its label: "grid" for LEVEL_GRID.
    const sum = sums.get(level.replace('LEVEL_', '').toLowerCase());
    if (sum !== undefined && (sum.accepted > 0 || sum.closed > 0)) {
      out.push({ level, acceptMinutes: minutes(sum.acceptS, sum.accepted), closeMinutes: minutes(sum.closeS, sum.closed) });
    }
  }
  return out;
}

export function mountScreen(context: Context): View {
  const { store } = context;
  const disposers: (() => void)[] = [];

  const countersBody = h('tbody', {});
  const counters = h(
    'section',
    { class: 'panel counters' },
    h('h2', {}, t('screen.counters')),
    h(
      'table',
      { class: 'counters-table' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, t('col.unit')),
          h('th', {}, t('col.reported')),
          h('th', {}, t('col.open')),
          h('th', {}, t('col.overdue')),
          h('th', {}, t('col.closed')),
          h('th', {}, t('col.ontime')),
        ),
      ),
      countersBody,
    ),
  );
  const mapBox = h('div', { class: 'chart map-chart' });
  const map = h('section', { class: 'panel map' }, h('h2', {}, t('screen.map')), mapBox);
  const feedList = h('ol', { class: 'feed-list' });
  const feedEmpty = h('p', { class: 'empty' }, t('screen.feed.empty'));
  const feedRate = h('span', { class: 'feed-rate' });
  const feed = h(
    'section',
    { class: 'panel feed' },
    h('h2', {}, t('screen.feed'), feedRate),
    feedEmpty,
    feedList,
  );
  const ontimeBox = h('div', { class: 'chart small-chart' });
  const ontime = h('section', { class: 'panel ontime' }, h('h2', {}, t('screen.ontime')), ontimeBox);
  const responseBox = h('div', { class: 'chart small-chart' });
  const responseEmpty = h('p', { class: 'empty' }, t('screen.response.empty'));
  const response = h(
    'section',
    { class: 'panel response' },
    h('h2', {}, t('screen.response')),
    responseEmpty,
    responseBox,
  );
  const element = h('div', { class: 'screen' }, counters, map, feed, ontime, response);

  // The feed: a fixed pool of rows, rewritten in place (constant DOM size).
  const rows: HTMLLIElement[] = [];
  for (let i = 0; i < FEED_ROWS; i++) {
    const row = h(
      'li',
      { class: 'feed-row', hidden: true },
      h('span', { class: 'feed-time' }),
      h('span', { class: 'feed-light' }),
      h('span', { class: 'feed-kind' }),
      h('span', { class: 'feed-unit' }),
      h('span', { class: 'feed-category' }),
      h('span', { class: 'feed-severity' }),
      h('span', { class: 'feed-id' }),
    );
    rows.push(row);
    feedList.appendChild(row);
  }
  feedList.addEventListener('click', (click) => {
    const row = (click.target as Element).closest<HTMLElement>('[data-event]');
    const id = row?.dataset['event'];
    if (id) {
      context.navigate(eventPath(id));
    }
  });
  let lastSeen = store.changesSeen;
  let lastRateAt = performance.now();
  const renderFeed = (): void => {
    const topology = store.topology;
    const changes = store.feed.newest(FEED_ROWS, (change) => store.changeInScope(change));
    feedEmpty.hidden = changes.length > 0;
    for (let i = 0; i < FEED_ROWS; i++) {
      const row = rows[i]!;
      const change: EventChange | undefined = changes[i];
      if (change === undefined) {
        row.hidden = true;
        continue;
      }
      row.hidden = false;
      const light = change.traffic_light ?? 'TRAFFIC_LIGHT_UNSPECIFIED';
      row.className = `feed-row ${LIGHT_CLASS[light]}`;
      row.dataset['event'] = change.event_id ?? '';
      row.dataset['cursor'] = change.cursor ?? '';
      const cells = row.children;
      setText(cells[0]!, formatClock(timeMs(change.at)));
      setText(cells[1]!, '●');
      setText(cells[2]!, kindName(change.kind));
      const unit = change.to_unit_id || change.grid_id || '';
      setText(cells[3]!, topology?.name(unit) ?? unit);
      setText(cells[4]!, change.category ?? '');
      setText(cells[5]!, severityName(change.severity));
      setText(cells[6]!, change.event_id ?? '');
    }
    const now = performance.now();
    if (now - lastRateAt >= 1000) {
      const rate = ((store.changesSeen - lastSeen) * 1000) / (now - lastRateAt);
      setText(feedRate, rate > 0 ? ` ${rate.toFixed(0)}/s` : '');
      lastSeen = store.changesSeen;
      lastRateAt = now;
    }
  };

  // The map: a scatter of grid centres on a plain longitude/latitude plane (no tiles).
  const mapChart = makeChart(store, 'map', mapBox);
  disposers.push(mapChart.dispose);
  mapChart.chart.on('click', (params) => {
    const value = params.value as number[] | undefined;
    if (value?.[4] !== undefined) {
      store.setScope(String(value[4]));
    }
  });
  // One series per colour, each drawn in ECharts' large mode (one path, not one element per
  // point), so a redraw of every grid stays cheap. A point is [lng, lat, open events, light rank
  // (-1 none, 0 not yet dispatched or paused, 1 green, 2 yellow, 3 red), grid id as a number].
  // Redrawn only when what it shows changed.
  let mapShown = '';
  let mapScope = '';
  const renderMap = (): void => {
    const topology = store.topology;
    if (topology === null) {
      return;
    }
    if (store.scope !== mapScope) {
      // Another scope: other grids, other axes; start over.
      mapScope = store.scope;
      mapShown = '';
      mapChart.chart.clear();
    }
    const marks = gridMarks(topology, store.scope, store.openInScope());
    const byRank: number[][][] = [[], [], [], [], []];
    let signature = store.scope;
    for (const mark of marks) {
      const grid = topology.get(mark.gridId)!;
      if (!Number.isFinite(grid.lat) || !Number.isFinite(grid.lng)) {
        continue;
      }
      const rank = mark.light === 'NONE' ? -1 : LIGHT_RANK[mark.light];
      byRank[rank + 1]!.push([grid.lng, grid.lat, mark.open, rank, Number(mark.gridId)]);
      signature += `|${mark.open},${rank}`;
    }
    if (signature === mapShown) {
      return;
    }
    const first = mapShown === '';
    mapShown = signature;
    const series = byRank.map((data, i) => ({ id: `rank${i - 1}`, data }));
    if (!first) {
      // Only the data: ECharts merges it into the series and leaves the rest as it was.
      mapChart.chart.setOption({ series });
      return;
    }
    mapChart.chart.setOption({
      animation: false,
      grid: { left: 8, right: 8, top: 8, bottom: 8 },
      xAxis: { type: 'value', scale: true, show: false },
      yAxis: { type: 'value', scale: true, show: false },
      tooltip: {
        trigger: 'item',
        formatter: (params: { value: number[] }) =>
          `${topology.name(String(params.value[4]))}<br/>${t('col.open')}: ${params.value[2]}`,
      },
      series: series.map((item, i) => ({
        ...item,
        type: 'scatter',
        large: true,
        // Large from one point up: ECharts' large mode fails on an empty series.
        largeThreshold: 1,
        progressive: 0,
        symbolSize: MAP_SYMBOL_SIZE[i]!,
        itemStyle: { color: LIGHT_BY_RANK[String(i - 1)] },
        // The worst light on top.
        z: 2 + i,
      })),
    });
  };

  const renderCounters = (): void => {
    const topology = store.topology;
    const today = store.today;
    if (topology === null || today === null || today.scope !== store.scope) {
      return;
    }
    const byUnit = new Map<string, StatsRow>();
    for (const row of today.rows) {
      byUnit.set(row.group?.['unit'] ?? '', row);
    }
    const line = (unitId: string, label: string, row: StatsRow | undefined, total: boolean) =>
      h(
        'tr',
        { class: total ? 'total' : '', 'data-unit': unitId },
        h('td', {}, label),
        h('td', { 'data-field': 'reported' }, String(int64(row?.reported))),
        h('td', { 'data-field': 'open' }, String(int64(row?.open))),
        h('td', { 'data-field': 'overdue', class: int64(row?.overdue) > 0 ? 'alert' : '' }, String(int64(row?.overdue))),
        h('td', { 'data-field': 'closed' }, String(int64(row?.closed))),
        h('td', { 'data-field': 'on_time_closure_rate' }, percent(onTimeRate(row))),
      );
    const lines = topology
      .childrenOf(store.scope)
      .slice(0, 60)
      .map((unit) => line(unit.id, unit.name, byUnit.get(unit.id), false));
    lines.push(line(store.scope, `${t('col.total')} · ${topology.name(store.scope)}`, today.total ?? undefined, true));
    countersBody.replaceChildren(...lines);
  };

  const ontimeChart = makeChart(store, 'ontime', ontimeBox);
  disposers.push(ontimeChart.dispose);
  const renderOntime = (): void => {
    const daily = store.daily;
    if (daily === null || daily.scope !== store.scope) {
      return;
    }
    const rate = (value: number | null) => (value === null ? null : Number((value * 100).toFixed(1)));
    ontimeChart.chart.setOption({
      animation: false,
      grid: { left: 40, right: 12, top: 30, bottom: 24 },
      legend: { textStyle: { color: TEXT_COLOR }, top: 0 },
      tooltip: { trigger: 'axis' },
      xAxis: {
        type: 'category',
        data: daily.days.map((day) => formatMonthDay(day.start)),
        axisLine: { lineStyle: { color: AXIS_COLOR } },
        axisLabel: { color: TEXT_COLOR },
      },
      yAxis: {
        type: 'value',
        min: 0,
        max: 100,
        axisLabel: { color: TEXT_COLOR, formatter: '{value}%' },
        splitLine: { lineStyle: { color: AXIS_COLOR } },
      },
      series: [
        {
          id: 'on_time',
          name: lang() === 'zh' ? '按期结案率' : 'On-time closure',
          type: 'bar',
          data: daily.days.map((day) => rate(onTimeRate(day.row))),
          itemStyle: { color: '#2fbf71' },
        },
        {
          id: 'closure',
          name: lang() === 'zh' ? '结案率' : 'Closure rate',
          type: 'line',
          data: daily.days.map((day) => rate(closureRate(day.row))),
          connectNulls: false,
          itemStyle: { color: '#5b8def' },
        },
      ],
    });
  };

  const responseChart = makeChart(store, 'response', responseBox);
  disposers.push(responseChart.dispose);
  let responseShown = '';
  const renderResponse = (): void => {
    const stats = store.response;
    if (stats === null || stats.scope !== store.scope) {
      return;
    }
    const levels = responseByLevel(stats.rows);
    responseEmpty.hidden = levels.length > 0;
    const wasHidden = responseBox.hidden;
    responseBox.hidden = levels.length === 0;
    if (levels.length === 0) {
      return;
    }
    const signature = `${lang()}|${JSON.stringify(levels)}`;
    if (signature === responseShown && !wasHidden) {
      return;
    }
    responseShown = signature;
    if (wasHidden) {
      responseChart.chart.resize();
    }
    responseChart.chart.setOption({
      animation: false,
      grid: { left: 48, right: 12, top: 30, bottom: 24 },
      legend: { textStyle: { color: TEXT_COLOR }, top: 0 },
      tooltip: { trigger: 'axis' },
      xAxis: {
        type: 'category',
        data: levels.map((row) => levelName(row.level)),
        axisLabel: { color: TEXT_COLOR },
        axisLine: { lineStyle: { color: AXIS_COLOR } },
      },
      yAxis: {
        type: 'value',
        axisLabel: { color: TEXT_COLOR },
        splitLine: { lineStyle: { color: AXIS_COLOR } },
      },
      series: [
        {
          id: 'accept',
          name: lang() === 'zh' ? '平均受理时长' : 'Mean time to accept',
          type: 'bar',
          data: levels.map((row) => row.acceptMinutes),
          itemStyle: { color: '#f2c12e' },
        },
        {
          id: 'close',
          name: lang() === 'zh' ? '平均结案时长' : 'Mean time to close',
          type: 'bar',
          data: levels.map((row) => row.closeMinutes),
          itemStyle: { color: '#5b8def' },
        },
      ],
    });
  };

  const unsubscribe = [
    store.subscribe(['feed', 'scope', 'topology', 'lang'], renderFeed, 0, 'feed'),
    // In a task of its own: ECharts draws the map as it is given the data (10-30 ms).
    store.subscribe(['open', 'scope', 'topology'], renderMap, MAP_INTERVAL_MS, 'map', true),
    store.subscribe(['today', 'scope', 'topology'], renderCounters, CHART_INTERVAL_MS, 'counters'),
    store.subscribe(['daily', 'scope'], renderOntime, CHART_INTERVAL_MS, 'ontime'),
    store.subscribe(['response', 'scope', 'lang'], renderResponse, CHART_INTERVAL_MS, 'response'),
  ];
  renderFeed();
  renderMap();
  renderCounters();
  renderOntime();
  renderResponse();
  return {
    element,
    destroy() {
      unsubscribe.forEach((undo) => undo());
      disposers.forEach((dispose) => dispose());
    },
  };
}
