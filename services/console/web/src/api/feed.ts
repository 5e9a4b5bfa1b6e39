// The live feed: an EventSource on /api/v1/watch (services/console/API.md, "The live feed").
// After a drop the browser reconnects by itself with Last-Event-ID, and the console resumes the
// gateway's stream from it: no gap, no duplicate. Only when the stream ends for good (an `end`
// event, or a refusal that closes the EventSource) does this class step in: it opens a new one
// after a back-off, from the last id it saw, so that a gateway restart or a console restart is a
// pause and not a hole.

import type { ErrorBody, EventChange } from './types';

export interface FeedSink {
  change(change: EventChange): void;
  state(state: 'connecting' | 'live' | 'reconnecting' | 'closed'): void;
  // The stream refused us for good (the session ended): the page goes to sign-in.
  unauthenticated(message: string): void;
}

const MIN_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 15000;

export class LiveFeed {
  private source: EventSource | null = null;
  private lastId = '';
  private backoff = MIN_BACKOFF_MS;
  private timer = 0;
  private stopped = true;

  constructor(
    private readonly sink: FeedSink,
    private readonly path = '/api/v1/watch',
  ) {}

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.timer);
    this.source?.close();
    this.source = null;
    this.sink.state('closed');
  }

  // The id of the last change or heartbeat received (the resume point).
  get cursor(): string {
    return this.lastId;
  }

  private open(): void {
    const url = this.lastId === '' ? this.path : `${this.path}?cursor=${encodeURIComponent(this.lastId)}`;
    const source = new EventSource(url);
    this.source = source;
    this.sink.state('connecting');
    source.onopen = () => {
      this.backoff = MIN_BACKOFF_MS;
      this.sink.state('live');
    };
    source.onmessage = (message: MessageEvent<string>) => {
      if (message.lastEventId !== '') {
        this.lastId = message.lastEventId;
      }
      let change: EventChange;
      try {
        change = JSON.parse(message.data) as EventChange;
      } catch {
        return;
      }
      this.sink.change(change);
    };
    source.addEventListener('end', (message: MessageEvent<string>) => {
      source.close();
      let body: ErrorBody = {};
      try {
        body = JSON.parse(message.data) as ErrorBody;
      } catch {
        // An end without a readable reason: retry like any other end.
      }
      if (body.error?.code === 'UNAUTHENTICATED') {
        this.sink.unauthenticated(body.error.message ?? '');
        this.stop();
        return;
      }
      if (body.error?.code === 'OUT_OF_RANGE') {
        // The resume point is older than the live streams keep: start from now (the views reload
        // their snapshots on reconnect, so nothing shown is stale).
        this.lastId = '';
      }
      this.retryLater();
    });
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        // Refused at admission (an ordinary error answer): the browser will not retry by itself.
        this.retryLater();
      } else {
        // The browser reconnects by itself with Last-Event-ID.
        this.sink.state('reconnecting');
      }
    };
  }

  private retryLater(): void {
    this.source?.close();
    this.source = null;
    if (this.stopped) {
      return;
    }
    this.sink.state('reconnecting');
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => {
      if (!this.stopped) {
        this.open();
      }
    }, this.backoff);
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
  }
}
