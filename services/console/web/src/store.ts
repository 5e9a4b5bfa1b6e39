// The page's one store of mutable state. Changes from the live feed are applied at once into
// bounded structures (a ring of recent changes, a capped map of open events), and
// views are told in batches: at most once per animation frame per topic, and no more often than
// each view asked for. So a flood of changes costs the page a constant amount of work per frame,
// and memory stays flat however long it runs.

import type {
  EventChange,
  EventState,
  Level,
  Session,
  Severity,
  StatsRow,
  TrafficLight,
} from './api/types';
import { FINAL_STATES, int64, timeMs } from './api/types';
import { Topology } from './lib/topology';

export type Topic =
  | 'session'
  | 'topology'
  | 'scope'
  | 'feed'
  | 'open'
  | 'today'
  | 'daily'
  | 'response'
  | 'connection'
  | 'lang';

// What the page keeps of an open event: enough to colour the map and count the backlog.
export interface OpenEvent {
  id: string;
  gridId: string;
  unitId: string;
  subdistrictId: string;
  state: EventState;
  level: Level;
  light: TrafficLight;
  severity: Severity;
  category: string;
  version: number;
  at: number;
}

// GetStats as the counters show it: today's figures of the scope, per child unit and in total.
export interface TodayStats {
  scope: string;
  dayStart: number;
  rows: StatsRow[];
  total: StatsRow | null;
  at: number;
}

// GetStats per level over the last days: the response times (sums and counts) the chart shows.
export interface ResponseStats {
  scope: string;
  rows: StatsRow[];
}

// GetStats per Beijing day, oldest first.
export interface DailyStats {
  scope: string;
  days: { start: number; row: StatsRow | null }[];
}

export type Connection = 'connecting' | 'live' | 'reconnecting' | 'closed';

// A fixed-capacity ring, newest last; older entries are overwritten.
export class Ring<T> {
  private readonly items: (T | undefined)[];
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.items = new Array<T | undefined>(capacity);
  }

  push(item: T): void {
    this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  get size(): number {
    return this.count;
  }

  clear(): void {
    this.items.fill(undefined);
    this.next = 0;
    this.count = 0;
  }

  // Newest first, at most `limit`, those that pass `keep`.
  newest(limit: number, keep: (item: T) => boolean = () => true): T[] {
    const out: T[] = [];
    for (let i = 1; i <= this.count && out.length < limit; i++) {
      const item = this.items[(this.next - i + this.capacity) % this.capacity] as T;
      if (keep(item)) {
        out.push(item);
      }
    }
    return out;
  }
}

export const FEED_CAPACITY = 2000;
// Listeners' time per frame (ms), after which the rest wait for the next frame (Store.flush).
export const FRAME_BUDGET_MS = 10;
export const OPEN_CAPACITY = 50_000;
// Enough to bridge one listing of open events (seconds) at a flood's rate of closures.
export const FINISHED_CAPACITY = 2_000;
const LIGHT_RANK: Record<TrafficLight, number> = {
  TRAFFIC_LIGHT_UNSPECIFIED: 0,
  TRAFFIC_LIGHT_GREEN: 1,
  TRAFFIC_LIGHT_YELLOW: 2,
  TRAFFIC_LIGHT_RED: 3,
};

export function worseLight(a: TrafficLight, b: TrafficLight): TrafficLight {
  return LIGHT_RANK[b] > LIGHT_RANK[a] ? b : a;
}

type Listener = () => void;

interface Subscription {
  name: string;
  topics: ReadonlySet<Topic>;
  listener: Listener;
  minIntervalMs: number;
  lastRun: number;
  pending: boolean;
  // Due in the last frame but left for its budget: first in line in the next.
  overBudget: boolean;
  // Runs in a task of its own, after the frame's (a redraw that would make the frame long).
  ownTask: boolean;
}

export class Store {
  session: Session | null = null;
  topology: Topology | null = null;
  // The unit the page is narrowed to (the tree's selection): every view shows its subtree.
  scope = '';
  connection: Connection = 'closed';
  readonly feed = new Ring<EventChange>(FEED_CAPACITY);
  // Open events by id, in insertion order (Map order), capped: the oldest go first.
  readonly open = new Map<string, OpenEvent>();
  changesSeen = 0;
  // Time spent per named listener (count, total and longest ms), kept only when a benchmark asks
  // (test hooks); null otherwise.
  timings: Map<string, { count: number; total: number; max: number }> | null = null;
  // The chart instances on screen by name, for the browser tests' getOption() (lib/charts.ts).
  readonly charts = new Map<string, import('./lib/charts').Chart>();
  today: TodayStats | null = null;
  daily: DailyStats | null = null;
  response: ResponseStats | null = null;
  // Events the feed saw reach a final state (version, and the order they finished in), so that a
  // listing fetched before the change does not bring them back. A listing applied forgets those
  // that finished before it was asked for; a cap bounds the rest.
  private readonly finished = new Map<string, { version: number; seq: number }>();
  private finishSeq = 0;

  private readonly subscriptions = new Set<Subscription>();
  private readonly dirty = new Set<Topic>();
  private frame = 0;
  private readonly schedule: (callback: () => void) => number;
  private readonly now: () => number;
  private readonly post: (callback: () => void) => void;

  constructor(
    schedule: (callback: () => void) => number = (callback) => requestAnimationFrame(callback),
    now: () => number = () => performance.now(),
    post: (callback: () => void) => void = (callback) => void setTimeout(callback, 0),
  ) {
    this.schedule = schedule;
    this.now = now;
    this.post = post;
  }

  // `listener` runs after any of `topics` changed, once per frame at most and not within
  // `minIntervalMs` of its last run (a run skipped for that is made later, not lost). `ownTask`:
  // it runs in a task of its own right after the frame, so that its time and the frame's do not
  // add up to one long task (the map's redraw).
  subscribe(
    topics: readonly Topic[],
    listener: Listener,
    minIntervalMs = 0,
    name = '',
    ownTask = false,
  ): () => void {
    const subscription: Subscription = {
      name,
      topics: new Set(topics),
      listener,
      minIntervalMs,
      lastRun: Number.NEGATIVE_INFINITY,
      pending: false,
      overBudget: false,
      ownTask,
    };
    this.subscriptions.add(subscription);
    return () => this.subscriptions.delete(subscription);
  }

  notify(topic: Topic): void {
    this.dirty.add(topic);
    this.requestFlush();
  }

  setSession(session: Session | null): void {
    this.session = session;
    this.notify('session');
  }

  setTopology(topology: Topology): void {
    this.topology = topology;
    if (this.scope === '' || topology.get(this.scope) === undefined) {
      this.scope = topology.rootId;
    }
    this.notify('topology');
    this.notify('scope');
  }

  setScope(unitId: string): void {
    if (unitId === this.scope) {
      return;
    }
    this.scope = unitId;
    this.notify('scope');
  }

  setConnection(connection: Connection): void {
    if (connection !== this.connection) {
      this.connection = connection;
      this.notify('connection');
    }
  }

  // Replaces the open events with a fresh listing (ListEvents of the open states). The listing
  // may be older than changes the feed brought meanwhile: a newer version already known wins, and
  // an event the feed saw finish stays finished.
  //
  // `since` is what beginListing() said when the listing was asked for.
  resetOpen(events: Iterable<OpenEvent>, since = Number.POSITIVE_INFINITY): void {
    const previous = new Map(this.open);
    this.open.clear();
    for (const event of events) {
      const known = previous.get(event.id);
      const finished = this.finished.get(event.id);
      if (finished !== undefined && finished.version >= event.version) {
        continue;
      }
      this.putOpen(known !== undefined && known.version > event.version ? known : event);
    }
    for (const [id, finished] of this.finished) {
      if (finished.seq > since) {
        break;
      }
      this.finished.delete(id);
    }
    this.notify('open');
  }

  // Call when asking for a listing of open events; pass the answer to resetOpen.
  beginListing(): number {
    return this.finishSeq;
  }

  setToday(today: TodayStats): void {
    this.today = today;
    this.notify('today');
  }

  setDaily(daily: DailyStats): void {
    this.daily = daily;
    this.notify('daily');
  }

  setResponse(response: ResponseStats): void {
    this.response = response;
    this.notify('response');
  }

  // One change from the live feed (or the test hook that stands in for it).
  ingest(change: EventChange): void {
    this.changesSeen++;
    this.feed.push(change);
    this.dirty.add('feed');
    const id = change.event_id ?? '';
    const state = change.to_state ?? 'EVENT_STATE_UNSPECIFIED';
    const version = int64(change.version);
    const known = this.open.get(id);
    if (known !== undefined && known.version > version) {
      // An older step than what is known (a resume replaying it): the map already has better.
    } else if (FINAL_STATES.has(state)) {
      this.finished.delete(id);
      this.finished.set(id, { version, seq: ++this.finishSeq });
      if (this.finished.size > FINISHED_CAPACITY) {
        const oldest = this.finished.keys().next().value;
        if (oldest !== undefined) {
          this.finished.delete(oldest);
        }
      }
      if (this.open.delete(id)) {
        this.dirty.add('open');
      }
    } else if (id !== '') {
      this.putOpen({
        id,
        gridId: change.grid_id ?? '',
        unitId: change.to_unit_id ?? '',
        subdistrictId: change.subdistrict_id ?? '',
        state,
        level: change.to_level ?? 'LEVEL_UNSPECIFIED',
        light: change.traffic_light ?? 'TRAFFIC_LIGHT_UNSPECIFIED',
        severity: change.severity ?? 'SEVERITY_UNSPECIFIED',
        category: change.category ?? '',
        version,
        at: timeMs(change.at),
      });
      this.dirty.add('open');
    }
    this.requestFlush();
  }

  // Open events in the subtree of the scope.
  openInScope(): OpenEvent[] {
    const topology = this.topology;
    const out: OpenEvent[] = [];
    for (const event of this.open.values()) {
      if (topology === null || topology.eventInSubtree(event.gridId, event.unitId, this.scope)) {
        out.push(event);
      }
    }
    return out;
  }

  // A change in the subtree of the scope.
  changeInScope(change: EventChange): boolean {
    const topology = this.topology;
    return (
      topology === null ||
      topology.eventInSubtree(change.grid_id, change.to_unit_id, this.scope) ||
      topology.unitInSubtree(change.from_unit_id, this.scope)
    );
  }

  private putOpen(event: OpenEvent): void {
    // Re-inserting moves the event to the end, so the map's order is the order of last change
    // and the cap drops the stalest.
    this.open.delete(event.id);
    this.open.set(event.id, event);
    if (this.open.size > OPEN_CAPACITY) {
      const oldest = this.open.keys().next().value;
      if (oldest !== undefined) {
        this.open.delete(oldest);
      }
    }
  }

  private requestFlush(): void {
    if (this.frame === 0) {
      this.frame = this.schedule(() => this.flush());
    }
  }

  // Runs the listeners whose topics changed. Public for tests; the page calls it by frame.
  // Within a frame's budget: once FRAME_BUDGET_MS is spent, the listeners still due wait for the
  // next frame (still pending, first in line there), so that the map's redraw, the tree's and a
  // table's do not add up to one long task that stalls the screen (at least one runs per frame).
  flush(): void {
    this.frame = 0;
    const now = this.now();
    for (const subscription of this.subscriptions) {
      for (const topic of this.dirty) {
        if (subscription.topics.has(topic)) {
          subscription.pending = true;
          break;
        }
      }
    }
    this.dirty.clear();
    let deferred = false;
    let ran = false;
    // Those left over from the last frame's budget first.
    const order = [...this.subscriptions].sort((a, b) => Number(b.overBudget) - Number(a.overBudget));
    for (const subscription of order) {
      if (!subscription.pending) {
        continue;
      }
      if (now - subscription.lastRun < subscription.minIntervalMs) {
        deferred = true;
        continue;
      }
      if (subscription.ownTask) {
        subscription.pending = false;
        subscription.lastRun = now;
        this.post(() => {
          if (this.subscriptions.has(subscription)) {
            this.run(subscription);
          }
        });
        continue;
      }
      if (ran && this.now() - now >= FRAME_BUDGET_MS) {
        subscription.overBudget = true;
        deferred = true;
        continue;
      }
      ran = true;
      subscription.overBudget = false;
      subscription.pending = false;
      subscription.lastRun = now;
      this.run(subscription);
    }
    if (deferred) {
      this.requestFlush();
    }
  }

  private run(subscription: Subscription): void {
    try {
      if (this.timings === null) {
        subscription.listener();
      } else {
        const started = this.now();
        subscription.listener();
        const spent = this.now() - started;
        const timing = this.timings.get(subscription.name) ?? { count: 0, total: 0, max: 0 };
        timing.count++;
        timing.total += spent;
        timing.max = Math.max(timing.max, spent);
        this.timings.set(subscription.name, timing);
      }
    } catch (error) {
      // One view's failure must not stop the others; it still reaches the console (and the
      // browser tests, which fail on page errors) through reportError.
      reportError(error);
    }
  }
}

function reportError(error: unknown): void {
  if (typeof globalThis.reportError === 'function') {
    globalThis.reportError(error);
  } else {
    console.error(error);
  }
}
