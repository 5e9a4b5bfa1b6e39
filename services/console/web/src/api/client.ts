// The typed client of the console's JSON API (services/console/API.md). Every call goes to the
// page's own origin; the session cookie authenticates it, and moves carry the CSRF header. A
// refusal becomes an ApiError carrying the gRPC code and the gateway's message, which the views
// show as they are (they name the field or the state at fault).

import type {
  ErrorBody,
  EventState,
  GetEventHistoryResponse,
  GetEventResponse,
  GetStatsResponse,
  GetTopologyResponse,
  Level,
  ListEventsResponse,
  ListOverdueEventsResponse,
  ListUnitQueueResponse,
  MoveResponse,
  Session,
  Severity,
  StatsDimension,
} from './types';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Query = Record<string, string | number | boolean | readonly string[] | undefined>;

// "a=1&b=x&b=y": repeated fields as repeated parameters; undefined and empty values left out.
export function queryString(query: Query): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === '') {
      continue;
    }
    if (Array.isArray(value)) {
      for (const item of value as readonly string[]) {
        params.append(name, item);
      }
    } else {
      params.append(name, String(value));
    }
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

// The moves of the API, by the name in their path (`POST /api/v1/events/{id}:<move>`).
export type MoveName =
  | 'accept'
  | 'resolve'
  | 'verify'
  | 'return'
  | 'suspend'
  | 'resume'
  | 'cancel'
  | 'void'
  | 'reassign'
  | 'escalate'
  | 'supervise';

export interface MoveBody {
  expected_version?: string;
  note?: string;
  reason?: string;
  passed?: boolean;
  unit_id?: string;
  approver_unit_id?: string;
  media?: string[];
  limit?: string;
}

export interface ListEventsQuery {
  unit_id?: string;
  states?: readonly EventState[];
  levels?: readonly Level[];
  subdistrict_id?: string;
  category_prefix?: string;
  reported_after?: string;
  reported_before?: string;
  // Pressed events only (true), the others only (false), or both (unset).
  supervised?: boolean;
  min_severity?: Severity;
  page_size?: number;
  page_token?: string;
}

export interface StatsQuery {
  unit_id?: string;
  from?: string;
  to?: string;
  group_by?: readonly StatsDimension[];
}

export class Api {
  // `csrf` is read when a move is sent: it comes from the session (GET /api/v1/session).
  constructor(
    private readonly base = '/api/v1',
    private csrf = '',
  ) {}

  setCsrf(token: string): void {
    this.csrf = token;
  }

  session(): Promise<Session> {
    return this.call<Session>('GET', '/session');
  }
  signIn(token: string): Promise<Session> {
    return this.call<Session>('POST', '/session', { token });
  }
  signOut(): Promise<void> {
    return this.call<void>('DELETE', '/session');
  }

  event(id: string): Promise<GetEventResponse> {
    return this.call('GET', `/events/${encodeURIComponent(id)}`);
  }
  history(id: string): Promise<GetEventHistoryResponse> {
    return this.call('GET', `/events/${encodeURIComponent(id)}/history`);
  }
  events(query: ListEventsQuery): Promise<ListEventsResponse> {
    return this.call('GET', `/events${queryString({ ...query })}`);
  }
  queue(unitId: string, pageSize = 100, pageToken = ''): Promise<ListUnitQueueResponse> {
    return this.call(
      'GET',
      `/units/${encodeURIComponent(unitId)}/queue${queryString({ page_size: pageSize, page_token: pageToken })}`,
    );
  }
  overdue(unitId: string, pageSize = 100, pageToken = ''): Promise<ListOverdueEventsResponse> {
    return this.call(
      'GET',
      `/overdue${queryString({ unit_id: unitId, page_size: pageSize, page_token: pageToken })}`,
    );
  }
  stats(query: StatsQuery): Promise<GetStatsResponse> {
    return this.call('GET', `/stats${queryString({ ...query })}`);
  }
  topology(unitId = '', includeUnits = true): Promise<GetTopologyResponse> {
    return this.call('GET', `/topology${queryString({ unit_id: unitId, include_units: includeUnits })}`);
  }
  move(id: string, move: MoveName, body: MoveBody): Promise<MoveResponse> {
    return this.call('POST', `/events/${encodeURIComponent(id)}:${move}`, body);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
    }
    if (method !== 'GET' && this.csrf !== '') {
      headers['X-Grid-CSRF'] = this.csrf;
    }
    let response: Response;
    try {
      response = await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
        cache: 'no-store',
      });
    } catch (error) {
      throw new ApiError(0, 'UNAVAILABLE', `console unreachable: ${String(error)}`);
    }
    if (response.status === 204) {
      return undefined as T;
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? {} : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const error = (parsed as ErrorBody | undefined)?.error;
      throw new ApiError(
        response.status,
        error?.code ?? `HTTP_${response.status}`,
        error?.message ?? (text.slice(0, 200) || response.statusText),
      );
    }
    if (parsed === undefined) {
      throw new ApiError(response.status, 'INTERNAL', `${method} ${path}: answer is not JSON`);
    }
    return parsed as T;
  }
}

// Every page of a paged list, up to `maxPages` (lists stay bounded in memory).
export async function allPages<T>(
  fetchPage: (pageToken: string) => Promise<{ items: T[]; next: string }>,
  maxPages: number,
): Promise<{ items: T[]; complete: boolean }> {
  const items: T[] = [];
  let token = '';
  for (let page = 0; page < maxPages; page++) {
    const result = await fetchPage(token);
    items.push(...result.items);
    token = result.next;
    if (token === '') {
      return { items, complete: true };
    }
  }
  return { items, complete: false };
}
