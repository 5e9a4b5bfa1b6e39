// Client-side routes (the console serves index.html for any path without an extension).

export type Route =
  | { name: 'signin'; error: string }
  | { name: 'screen' }
  | { name: 'unit'; unitId: string }
  | { name: 'lists'; tab: string }
  | { name: 'event'; eventId: string }
  | { name: 'notfound'; path: string };

export function parseRoute(pathname: string, search: string): Route {
  const params = new URLSearchParams(search);
  const parts = pathname.split('/').filter((part) => part !== '').map(decodeURIComponent);
  if (parts.length === 0) {
    return { name: 'screen' };
  }
  if (parts[0] === 'signin' && parts.length === 1) {
    return { name: 'signin', error: params.get('error') ?? '' };
  }
  if (parts[0] === 'lists' && parts.length === 1) {
    return { name: 'lists', tab: params.get('tab') ?? 'queue' };
  }
  if (parts[0] === 'events' && parts.length === 2) {
    return { name: 'event', eventId: parts[1]! };
  }
  if (parts[0] === 'units' && parts.length === 2) {
    return { name: 'unit', unitId: parts[1]! };
  }
  return { name: 'notfound', path: pathname };
}

export function eventPath(id: string): string {
  return `/events/${encodeURIComponent(id)}`;
}
