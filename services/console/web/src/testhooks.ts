// Hooks for the browser tests and the flood benchmark, installed only when the page is opened
// with localStorage "grid-console.test-hooks" = "1" (the tests set it before the page loads; a
// person never does). They read what the page shows (chart options, counts) and feed the store
// the way the live feed's handler does. They can show nothing the signed-in caller could not
// already see: they read the page's own state and call no API.

import type { EventChange } from './api/types';
import type { Store } from './store';

export interface TestHooks {
  // ECharts' getOption() of a chart on screen ("map", "ontime", "response"), or null.
  option(name: string): unknown;
  // Applies changes as the live feed would.
  inject(changes: EventChange[]): void;
  state(): { scope: string; open: number; feed: number; changesSeen: number; connection: string };
  // From now on, count every change the page takes in by "event_id kind version" (to check a
  // resume brings no gap and no duplicate); `false` stops and forgets.
  record(on: boolean): void;
  received(): [string, number][];
  // Starts timing the views' redraws; then the time spent per view.
  time(): void;
  timings(): [string, { count: number; total: number; max: number }][];
}

export function installTestHooks(store: Store): void {
  let enabled = false;
  try {
    enabled = localStorage.getItem('grid-console.test-hooks') === '1';
  } catch {
    enabled = false;
  }
  if (!enabled) {
    return;
  }
  let received: Map<string, number> | null = null;
  const ingest = store.ingest.bind(store);
  store.ingest = (change: EventChange) => {
    if (received !== null) {
      const key = `${change.event_id} ${change.kind} ${change.version}`;
      received.set(key, (received.get(key) ?? 0) + 1);
    }
    ingest(change);
  };
  const hooks: TestHooks = {
    record: (on) => {
      received = on ? new Map() : null;
    },
    received: () => [...(received ?? new Map<string, number>()).entries()],
    time: () => {
      store.timings = new Map();
    },
    timings: () => [...(store.timings ?? new Map()).entries()],
    option: (name) => store.charts.get(name)?.getOption() ?? null,
    inject: (changes) => {
      for (const change of changes) {
        store.ingest(change);
      }
    },
    state: () => ({
      scope: store.scope,
      open: store.open.size,
      feed: store.feed.size,
      changesSeen: store.changesSeen,
      connection: store.connection,
    }),
  };
  (window as unknown as { gridConsoleTest: TestHooks }).gridConsoleTest = hooks;
}
