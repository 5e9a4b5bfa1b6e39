// Keeps the store's shared data live: the topology once, the open events (ListEvents) and the
// statistics (GetStats) of the scope, refreshed when the scope changes, when the feed brings
// changes (at most every few seconds), and on a slow timer for what changes with time alone
// (traffic lights turn yellow and red as clocks run).

import { Api, ApiError, allPages } from './api/client';
import type { EventState, StatsRow } from './api/types';
import { int64, timeMs } from './api/types';
import { LiveFeed } from './api/feed';
import { beijingDay, rfc3339 } from './lib/time';
import { Topology } from './lib/topology';
import type { OpenEvent, Store } from './store';

export const OPEN_STATES: readonly EventState[] = [
  'EVENT_STATE_REPORTED',
  'EVENT_STATE_DISPATCHED',
  'EVENT_STATE_ACCEPTED',
  'EVENT_STATE_RESOLVED',
  'EVENT_STATE_SUSPENDED',
];
const OPEN_PAGE_SIZE = 500;
const OPEN_MAX_PAGES = 40;
const STATS_MIN_INTERVAL_MS = 1500;
const OPEN_REFRESH_MS = 60_000;
const STATS_REFRESH_MS = 30_000;
const DAILY_REFRESH_MS = 300_000;
const DAYS = 7;

export class LiveData {
  private readonly feed: LiveFeed;
  private timers: number[] = [];
  private unsubscribe: (() => void)[] = [];
  private statsInFlight = false;
  private statsAgain = false;
  private lastStats = 0;
  private statsTimer = 0;

  constructor(
    private readonly store: Store,
    private readonly api: Api,
    private readonly onUnauthenticated: (message: string) => void,
  ) {
    this.feed = new LiveFeed({
      change: (change) => store.ingest(change),
      state: (state) => store.setConnection(state),
      unauthenticated: (message) => this.onUnauthenticated(message),
    });
  }

  async start(): Promise<void> {
    const session = this.store.session;
    const topology = await this.api.topology(session?.unit_id ?? '', true);
    this.store.setTopology(new Topology(topology.units ?? []));
    this.feed.start();
    this.unsubscribe.push(
      this.store.subscribe(['scope'], () => {
        this.background(this.refreshStats());
        this.background(this.refreshDaily());
      }),
      // A change seen moves today's counters: ask again, but not more often than the interval.
      this.store.subscribe(['feed'], () => this.statsSoon(), 0, 'stats-refresh'),
    );
    this.timers.push(
      window.setInterval(() => this.background(this.refreshOpen()), OPEN_REFRESH_MS),
      window.setInterval(() => this.background(this.refreshStats()), STATS_REFRESH_MS),
      window.setInterval(() => this.background(this.refreshDaily()), DAILY_REFRESH_MS),
    );
    await Promise.all([this.refreshOpen(), this.refreshStats(), this.refreshDaily()]);
  }

  stop(): void {
    this.feed.stop();
    for (const timer of this.timers) {
      window.clearInterval(timer);
    }
    window.clearTimeout(this.statsTimer);
    for (const undo of this.unsubscribe) {
      undo();
    }
    this.timers = [];
    this.unsubscribe = [];
  }

  // The open events of the whole visible tree (the scope narrows them on the page).
  async refreshOpen(): Promise<void> {
    const root = this.store.topology?.rootId ?? '';
    const since = this.store.beginListing();
    const { items } = await allPages(async (token) => {
      const page = await this.api.events({
        unit_id: root,
        states: OPEN_STATES,
        page_size: OPEN_PAGE_SIZE,
        page_token: token,
      });
      return { items: page.events ?? [], next: page.next_page_token ?? '' };
    }, OPEN_MAX_PAGES);
    this.store.resetOpen(
      items.map(
        (event): OpenEvent => ({
          id: event.id ?? '',
          gridId: event.grid_id ?? '',
          unitId: event.unit_id ?? '',
          subdistrictId: event.subdistrict_id ?? '',
          state: event.state ?? 'EVENT_STATE_UNSPECIFIED',
          level: event.level ?? 'LEVEL_UNSPECIFIED',
          light: event.traffic_light ?? 'TRAFFIC_LIGHT_UNSPECIFIED',
          severity: event.severity ?? 'SEVERITY_UNSPECIFIED',
          category: event.category ?? '',
          version: int64(event.version),
          at: timeMs(event.updated_at),
        }),
      ),
      since,
    );
  }

  // A refresh nobody awaits. Its failure (the gateway busy or briefly away: 503, 504) must not
  // become an uncaught error of the page: the data on screen stays, and the next refresh (the
  // timers, the next changes of the feed) asks again. A session that ended goes to sign-in.
  private background(refresh: Promise<void>): void {
    refresh.catch((error: unknown) => {
      if (error instanceof ApiError && error.status === 401) {
        this.onUnauthenticated(error.message);
        return;
      }
      console.warn('grid-console: a refresh failed; the next one asks again:', error);
    });
  }

  private statsSoon(): void {
    const wait = this.lastStats + STATS_MIN_INTERVAL_MS - Date.now();
    if (wait <= 0) {
      this.background(this.refreshStats());
    } else if (this.statsTimer === 0) {
      this.statsTimer = window.setTimeout(() => {
        this.statsTimer = 0;
        this.background(this.refreshStats());
      }, wait);
    }
  }

  // Today's counters of the scope (one row per child unit, and the total), and the response
  // times per level over the last DAYS days (sums and counts, see responseByLevel).
  async refreshStats(): Promise<void> {
    if (this.statsInFlight) {
      this.statsAgain = true;
      return;
    }
    this.statsInFlight = true;
    this.lastStats = Date.now();
    try {
      const scope = this.store.scope;
      const day = beijingDay(Date.now());
      const from = rfc3339(day.start);
      const days = rfc3339(beijingDay(Date.now(), DAYS - 1).start);
      const [byUnit, total, byLevel] = await Promise.all([
        this.api.stats({ unit_id: scope, from, group_by: ['STATS_DIMENSION_UNIT'] }),
        this.api.stats({ unit_id: scope, from }),
        this.api.stats({ unit_id: scope, from: days, group_by: ['STATS_DIMENSION_LEVEL'] }),
      ]);
      if (scope === this.store.scope) {
        this.store.setToday({
          scope,
          dayStart: day.start,
          rows: byUnit.rows ?? [],
          total: total.rows?.[0] ?? null,
          at: Date.now(),
        });
        this.store.setResponse({ scope, rows: byLevel.rows ?? [] });
      }
    } finally {
      this.statsInFlight = false;
      if (this.statsAgain) {
        this.statsAgain = false;
        this.statsSoon();
      }
    }
  }

  // The scope's scores per Beijing day, the last DAYS days.
  async refreshDaily(): Promise<void> {
    const scope = this.store.scope;
    const now = Date.now();
    const days = Array.from({ length: DAYS }, (_, i) => beijingDay(now, DAYS - 1 - i));
    const rows = await Promise.all(
      days.map((day) =>
        this.api
          .stats({ unit_id: scope, from: rfc3339(day.start), to: rfc3339(day.end) })
          .then((response): StatsRow | null => response.rows?.[0] ?? null),
      ),
    );
    if (scope === this.store.scope) {
      this.store.setDaily({ scope, days: days.map((day, i) => ({ start: day.start, row: rows[i] ?? null })) });
    }
  }
}
