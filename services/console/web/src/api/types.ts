// The API's JSON, written once from proto/grid/v1/*.proto under protobuf's JSON mapping as the
// console prints it (services/console/API.md, "Conventions"): the field names of the .proto
// (snake_case), enums as their names, int64 as strings, Timestamps as RFC 3339 strings, Durations
// as "<seconds>s" strings. The console prints scalars at their defaults but leaves out unset
// message fields; every field is optional here all the same, so that no reader trusts what a
// printer may omit: readers fall back to the proto default.

export type Level =
  | 'LEVEL_UNSPECIFIED'
  | 'LEVEL_GRID'
  | 'LEVEL_COMMUNITY'
  | 'LEVEL_ZONE'
  | 'LEVEL_SUBDISTRICT'
  | 'LEVEL_DISTRICT'
  // Above the districts, in a deployment of several: a city's or a province's unit. Events
  // never sit there, so LEVELS (the levels an event can be at) stops at the district.
  | 'LEVEL_CITY'
  | 'LEVEL_PROVINCE';
export const LEVELS: readonly Level[] = [
  'LEVEL_GRID',
  'LEVEL_COMMUNITY',
  'LEVEL_ZONE',
  'LEVEL_SUBDISTRICT',
  'LEVEL_DISTRICT',
];

export type Severity =
  | 'SEVERITY_UNSPECIFIED'
  | 'SEVERITY_LOW'
  | 'SEVERITY_NORMAL'
  | 'SEVERITY_HIGH'
  | 'SEVERITY_CRITICAL';
export const SEVERITIES: readonly Severity[] = [
  'SEVERITY_LOW',
  'SEVERITY_NORMAL',
  'SEVERITY_HIGH',
  'SEVERITY_CRITICAL',
];

export type Source =
  | 'SOURCE_UNSPECIFIED'
  | 'SOURCE_GRID_WORKER'
  | 'SOURCE_HOTLINE'
  | 'SOURCE_VIDEO'
  | 'SOURCE_ASSIGNED'
  | 'SOURCE_OPERATOR'
  | 'SOURCE_OPEN311';

export type EventState =
  | 'EVENT_STATE_UNSPECIFIED'
  | 'EVENT_STATE_REPORTED'
  | 'EVENT_STATE_DISPATCHED'
  | 'EVENT_STATE_ACCEPTED'
  | 'EVENT_STATE_RESOLVED'
  | 'EVENT_STATE_CLOSED'
  | 'EVENT_STATE_VOIDED'
  | 'EVENT_STATE_SUSPENDED'
  | 'EVENT_STATE_CANCELLED';
export const EVENT_STATES: readonly EventState[] = [
  'EVENT_STATE_REPORTED',
  'EVENT_STATE_DISPATCHED',
  'EVENT_STATE_ACCEPTED',
  'EVENT_STATE_RESOLVED',
  'EVENT_STATE_CLOSED',
  'EVENT_STATE_VOIDED',
  'EVENT_STATE_SUSPENDED',
  'EVENT_STATE_CANCELLED',
];
// States an event never leaves.
export const FINAL_STATES: ReadonlySet<EventState> = new Set<EventState>([
  'EVENT_STATE_CLOSED',
  'EVENT_STATE_VOIDED',
  'EVENT_STATE_CANCELLED',
]);

export type ChangeKind =
  | 'CHANGE_KIND_UNSPECIFIED'
  | 'CHANGE_KIND_REPORTED'
  | 'CHANGE_KIND_DISPATCHED'
  | 'CHANGE_KIND_ACCEPTED'
  | 'CHANGE_KIND_RESOLVED'
  | 'CHANGE_KIND_VERIFIED'
  | 'CHANGE_KIND_REWORK'
  | 'CHANGE_KIND_RETURNED'
  | 'CHANGE_KIND_ESCALATED'
  | 'CHANGE_KIND_SUSPENDED'
  | 'CHANGE_KIND_RESUMED'
  | 'CHANGE_KIND_CANCELLED'
  | 'CHANGE_KIND_VOIDED'
  | 'CHANGE_KIND_SUPERVISED'
  | 'CHANGE_KIND_REMINDED'
  | 'CHANGE_KIND_REASSIGNED'
  | 'CHANGE_KIND_DUPLICATE_MERGED';

export type ChangeReason =
  | 'CHANGE_REASON_UNSPECIFIED'
  | 'CHANGE_REASON_POLICY'
  | 'CHANGE_REASON_ACCEPT_TIMEOUT'
  | 'CHANGE_REASON_RESOLVE_TIMEOUT'
  | 'CHANGE_REASON_MANUAL'
  | 'CHANGE_REASON_RETURNED'
  | 'CHANGE_REASON_VERIFICATION_FAILED';

export type TrafficLight =
  | 'TRAFFIC_LIGHT_UNSPECIFIED'
  | 'TRAFFIC_LIGHT_GREEN'
  | 'TRAFFIC_LIGHT_YELLOW'
  | 'TRAFFIC_LIGHT_RED';

export type Role =
  | 'ROLE_UNSPECIFIED'
  | 'ROLE_WORKER'
  | 'ROLE_HANDLER'
  | 'ROLE_OPERATOR'
  | 'ROLE_ADMIN'
  | 'ROLE_SYSTEM';

export type UnitKind = 'UNIT_KIND_UNSPECIFIED' | 'UNIT_KIND_AREA' | 'UNIT_KIND_DEPARTMENT';

export type StatsDimension =
  | 'STATS_DIMENSION_UNSPECIFIED'
  | 'STATS_DIMENSION_LEVEL'
  | 'STATS_DIMENSION_SUBDISTRICT'
  | 'STATS_DIMENSION_CATEGORY_CLASS'
  | 'STATS_DIMENSION_SEVERITY'
  | 'STATS_DIMENSION_UNIT'
  | 'STATS_DIMENSION_DISTRICT';

// google.protobuf.Timestamp: RFC 3339, e.g. "2026-11-30T08:00:00.123Z".
export type Timestamp = string;
// google.protobuf.Duration: seconds with an "s" suffix, e.g. "14400s" or "1.500s".
export type Duration = string;
// int64: a decimal string.
export type Int64 = string;

export interface Location {
  lat?: number;
  lng?: number;
}

export interface Actor {
  subject?: string;
  role?: Role;
  unit_id?: string;
}

export interface Report {
  client_request_id?: string;
  reporter_id?: string;
  grid_id?: string;
  location?: Location;
  address?: string;
  category?: string;
  severity?: Severity;
  description?: string;
  media?: string[];
  source?: Source;
  reported_at?: Timestamp;
}

export interface Deadlines {
  started_at?: Timestamp;
  accept_limit?: Duration;
  resolve_limit?: Duration;
  accept_by?: Timestamp;
  resolve_by?: Timestamp;
  working_time?: boolean;
  paused?: Duration;
}

export interface Event {
  id?: string;
  client_request_id?: string;
  reporter_id?: string;
  grid_id?: string;
  subdistrict_id?: string;
  location?: Location;
  address?: string;
  category?: string;
  severity?: Severity;
  description?: string;
  media?: string[];
  source?: Source;
  state?: EventState;
  level?: Level;
  unit_id?: string;
  rule_id?: string;
  department_id?: string;
  notified_levels?: Level[];
  deadlines?: Deadlines;
  traffic_light?: TrafficLight;
  overdue?: boolean;
  escalation_count?: number;
  rework_count?: number;
  return_count?: number;
  duplicate_of?: string;
  duplicate_count?: number;
  supervised?: boolean;
  resolution_note?: string;
  resolution_media?: string[];
  version?: Int64;
  reported_at?: Timestamp;
  created_at?: Timestamp;
  dispatched_at?: Timestamp;
  accepted_at?: Timestamp;
  resolved_at?: Timestamp;
  closed_at?: Timestamp;
  updated_at?: Timestamp;
  suspended_at?: Timestamp;
  suspended_from?: EventState;
  suspend_reason?: string;
  approver_unit_id?: string;
  returned_by_unit_ids?: string[];
  dispatch_count?: number;
  next_reminder_at?: Timestamp;
  reminder_count?: number;
  supervision_note?: string;
  supervised_by_unit_id?: string;
}

export interface EventChange {
  event_id?: string;
  kind?: ChangeKind;
  at?: Timestamp;
  actor?: Actor;
  from_level?: Level;
  to_level?: Level;
  from_unit_id?: string;
  to_unit_id?: string;
  from_state?: EventState;
  to_state?: EventState;
  reason_code?: ChangeReason;
  reason?: string;
  note?: string;
  version?: Int64;
  grid_id?: string;
  subdistrict_id?: string;
  category?: string;
  severity?: Severity;
  traffic_light?: TrafficLight;
  cursor?: string;
  due_by?: Timestamp;
  clock_started_at?: Timestamp;
  created_at?: Timestamp;
}

export interface Unit {
  id?: string;
  level?: Level;
  parent_id?: string;
  name?: string;
  kind?: UnitKind;
  categories?: string[];
  center?: Location;
}

export interface Worker {
  id?: string;
  name?: string;
  grid_id?: string;
}

export interface LevelCount {
  level?: Level;
  units?: number;
  departments?: number;
}

export interface QueueItem {
  event?: Event;
  traffic_light?: TrafficLight;
  time_left?: Duration;
  overdue?: boolean;
}

export interface StatsRow {
  group?: Record<string, string>;
  reported?: Int64;
  duplicates?: Int64;
  closed?: Int64;
  closed_on_time?: Int64;
  due?: Int64;
  deferred?: Int64;
  reworked?: Int64;
  returned?: Int64;
  escalated?: Int64;
  redispatched?: Int64;
  open?: Int64;
  overdue?: Int64;
  on_time_closure_rate?: number;
  closure_rate?: number;
  rework_rate?: number;
  first_dispatch_accuracy?: number;
  accepted?: Int64;
  accept_seconds_sum?: number;
  accept_seconds_mean?: number;
  closed_timed?: Int64;
  close_seconds_sum?: number;
  close_seconds_mean?: number;
}

// Responses of the reads.
export interface GetEventResponse {
  event?: Event;
}
export interface ListEventsResponse {
  events?: Event[];
  next_page_token?: string;
}
export interface GetEventHistoryResponse {
  changes?: EventChange[];
}
export interface ListUnitQueueResponse {
  items?: QueueItem[];
  next_page_token?: string;
}
export interface ListOverdueEventsResponse {
  events?: Event[];
  next_page_token?: string;
}
export interface GetStatsResponse {
  rows?: StatsRow[];
}
export interface GetTopologyResponse {
  level_counts?: LevelCount[];
  worker_count?: number;
  units?: Unit[];
  workers?: Worker[];
  version?: string;
}
export interface ReportEventResponse {
  event_id?: string;
  replayed?: boolean;
  duplicate_of?: string;
  event?: Event;
}
// Every move answers the event as it is after the move.
export interface MoveResponse {
  event?: Event;
}

// Who is signed in (GET /api/v1/session): decoded from the token for display only.
export interface Session {
  subject?: string;
  role?: Role;
  unit_id?: string;
  issued_at?: Timestamp;
  expires_at?: Timestamp;
  csrf_token?: string;
  via?: 'cookie' | 'bearer';
}

// The body of every error answer.
export interface ErrorBody {
  error?: {
    code?: string;
    http?: number;
    message?: string;
    retry_after_ms?: number;
  };
}

// Readers of the optional fields with their proto defaults.
export function int64(value: Int64 | undefined): number {
  return value === undefined ? 0 : Number(value);
}

// Milliseconds since the epoch, or NaN when unset.
export function timeMs(value: Timestamp | undefined): number {
  return value === undefined ? Number.NaN : Date.parse(value);
}

// Milliseconds of a Duration ("14400s", "-1.5s"), 0 when unset.
export function durationMs(value: Duration | undefined): number {
  if (value === undefined || !value.endsWith('s')) {
    return 0;
  }
  return Math.round(Number(value.slice(0, -1)) * 1000);
}
