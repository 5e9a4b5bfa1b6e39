// The page's live data under a busy gateway: a refresh nobody awaits (the timers', the scope's,
// the feed's) that fails must not become an uncaught error of the page (a big screen that shows
// an error and stops), and the next refresh asks again.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, type Api } from '../src/api/client';
import { LiveData } from '../src/live';
import { Store } from '../src/store';

// Just enough of EventSource for the feed to start.
class StubEventSource {
  static readonly CLOSED = 2;
  readyState = 0;
  onopen: (() => void) | null = null;
  onmessage: (() => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {}
  addEventListener(): void {}
  close(): void {}
}

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('the live data', () => {
  it('survives background refreshes that fail, and asks again at the next one', async () => {
    // Not setImmediate: the test waits on it for Node's unhandled-rejection check.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    vi.stubGlobal('window', globalThis);
    vi.stubGlobal('EventSource', StubEventSource);
    const uncaught: unknown[] = [];
    const onUncaught = (reason: unknown) => uncaught.push(reason);
    process.on('unhandledRejection', onUncaught);
    try {
      const frames: (() => void)[] = [];
      const store = new Store((callback) => frames.push(callback), () => Date.now());
      let failing = true;
      let statsCalls = 0;
      const api = {
        topology: async () => ({ units: [{ id: '370212', level: 'LEVEL_DISTRICT' }] }),
        events: async () => ({ events: [] }),
        stats: async () => {
          statsCalls++;
          if (failing) {
            throw new ApiError(504, 'DEADLINE_EXCEEDED', 'Redis gave no reply within 2000 ms');
          }
          return { rows: [] };
        },
      } as unknown as Api;
      const unauthenticated = vi.fn();
      const live = new LiveData(store, api, unauthenticated);
      // The first load is awaited: the page shows its failure (main.ts).
      await expect(live.start()).rejects.toThrow(/Redis gave no reply/);
      // The scope's listener refreshes in the background, and so do the timers.
      for (const frame of frames.splice(0)) {
        frame();
      }
      await vi.advanceTimersByTimeAsync(30_000);
      const failed = statsCalls;
      expect(failed).toBeGreaterThan(3);
      failing = false;
      await vi.advanceTimersByTimeAsync(30_000);
      expect(statsCalls).toBeGreaterThan(failed);
      await new Promise((resolve) => setImmediate(resolve));
      expect(uncaught).toEqual([]);
      expect(unauthenticated).not.toHaveBeenCalled();
      expect(warn).toHaveBeenCalled();
      live.stop();
    } finally {
      process.off('unhandledRejection', onUncaught);
    }
  });
});
