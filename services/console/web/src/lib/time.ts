// Time on the page: the command centre counts Beijing days (Asia/Shanghai), never UTC days or the
// browser's own zone. China has kept UTC+8 without daylight saving since 1991, so a day boundary
// is a fixed offset from UTC; the formatters still name the zone, so what is shown is Beijing
// time whatever the browser's zone is.

export const BEIJING_ZONE = 'Asia/Shanghai';
const OFFSET_MS = 8 * 3600 * 1000;
const DAY_MS = 24 * 3600 * 1000;

// The start (UTC milliseconds) of the Beijing day that contains `ms`.
export function beijingDayStart(ms: number): number {
  return Math.floor((ms + OFFSET_MS) / DAY_MS) * DAY_MS - OFFSET_MS;
}

// The Beijing day [start, end) that contains `ms`, `daysBack` days earlier.
export function beijingDay(ms: number, daysBack = 0): { start: number; end: number } {
  const start = beijingDayStart(ms) - daysBack * DAY_MS;
  return { start, end: start + DAY_MS };
}

const dateTime = new Intl.DateTimeFormat('zh-CN', {
  timeZone: BEIJING_ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});
const clock = new Intl.DateTimeFormat('zh-CN', {
  timeZone: BEIJING_ZONE,
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});
const monthDay = new Intl.DateTimeFormat('zh-CN', {
  timeZone: BEIJING_ZONE,
  month: '2-digit',
  day: '2-digit',
});

// "2026/11/30 08:00:00", Beijing time; "-" when unset.
export function formatDateTime(ms: number): string {
  return Number.isFinite(ms) ? dateTime.format(ms) : '-';
}

// "08:00:00", Beijing time.
export function formatClock(ms: number): string {
  return Number.isFinite(ms) ? clock.format(ms) : '-';
}

// "11/30", Beijing date.
export function formatMonthDay(ms: number): string {
  return monthDay.format(ms);
}

// A signed span as "-1d 02:03:04" / "02:03:04".
export function formatSpan(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  let rest = Math.floor(Math.abs(ms) / 1000);
  const days = Math.floor(rest / 86400);
  rest -= days * 86400;
  const hh = String(Math.floor(rest / 3600)).padStart(2, '0');
  const mm = String(Math.floor((rest % 3600) / 60)).padStart(2, '0');
  const ss = String(rest % 60).padStart(2, '0');
  return `${sign}${days > 0 ? `${days}d ` : ''}${hh}:${mm}:${ss}`;
}

// RFC 3339 for a request parameter.
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}
