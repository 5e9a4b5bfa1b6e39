// The page's entry: the shell (header, scope path, tree), the router, and the start of the live
// data once someone is signed in.

import './styles.css';
import { Api, ApiError } from './api/client';
import type { Context, View } from './context';
import { h, setText } from './lib/dom';
import { lang, roleName, setLang, t } from './lib/i18n';
import { LiveData } from './live';
import { type Route, parseRoute } from './router';
import { Store } from './store';
import { installTestHooks } from './testhooks';
import { mountEvent } from './views/event';
import { mountLists } from './views/lists';
import { mountScreen } from './views/screen';
import { mountSignIn } from './views/signin';
import { mountTree } from './views/tree';

const store = new Store();
const api = new Api();
installTestHooks(store);
setLang(lang());

const root = document.getElementById('app')!;
let live: LiveData | null = null;
let mounted: View[] = [];

const context: Context = {
  store,
  api,
  navigate(path: string) {
    if (path !== location.pathname + location.search) {
      history.pushState(null, '', path);
    }
    render();
  },
};

function toSignIn(message = ''): void {
  live?.stop();
  live = null;
  store.setSession(null);
  history.replaceState(null, '', message === '' ? '/signin' : `/signin?error=${encodeURIComponent(message)}`);
  render();
}

async function ensureSession(): Promise<boolean> {
  if (store.session !== null) {
    return true;
  }
  try {
    const session = await api.session();
    api.setCsrf(session.csrf_token ?? '');
    store.setSession(session);
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      return false;
    }
    throw error;
  }
}

function startLive(): void {
  if (live !== null) {
    return;
  }
  live = new LiveData(store, api, (message) => toSignIn(message));
  live.start().catch((error: unknown) => {
    if (error instanceof ApiError && error.status === 401) {
      toSignIn(error.message);
      return;
    }
    banner.textContent = `${t('error.load')}: ${error instanceof ApiError ? `${error.code}: ${error.message}` : String(error)}`;
    banner.hidden = false;
  });
}

const banner = h('p', { class: 'banner', role: 'alert', hidden: true });

function header(route: Route): HTMLElement {
  const session = store.session;
  const link = (path: string, key: 'nav.screen' | 'nav.lists', active: boolean) =>
    h('a', { href: path, class: active ? 'active' : '', 'data-link': '' }, t(key));
  const connection = h('span', { class: 'connection' });
  const showConnection = () => {
    const state = store.connection;
    connection.className = `connection ${state}`;
    setText(connection, state === 'live' ? `● ${t('screen.live')}` : state === 'closed' ? '' : `○ ${t('screen.reconnecting')}`);
  };
  showConnection();
  mounted.push({ element: connection, destroy: store.subscribe(['connection'], showConnection) });
  const scope = h('div', { class: 'scope-path', 'aria-label': 'scope' });
  const showScope = () => {
    const topology = store.topology;
    scope.replaceChildren(
      ...(topology?.pathTo(store.scope) ?? []).flatMap((unit, i, all) => [
        ...(i > 0 ? [h('span', { class: 'sep' }, '›')] : []),
        h('button', { type: 'button', class: i === all.length - 1 ? 'current' : '', 'data-unit': unit.id }, unit.name),
      ]),
    );
  };
  scope.addEventListener('click', (click) => {
    const id = (click.target as HTMLElement).closest<HTMLElement>('[data-unit]')?.dataset['unit'];
    if (id) {
      store.setScope(id);
    }
  });
  showScope();
  mounted.push({ element: scope, destroy: store.subscribe(['scope', 'topology'], showScope) });
  const signOut = h('button', { type: 'button', class: 'signout' }, t('nav.signout'));
  signOut.addEventListener('click', () => {
    api
      .signOut()
      .catch(() => undefined)
      .finally(() => toSignIn());
  });
  const switchLang = h('button', { type: 'button', class: 'lang' }, t('lang.switch'));
  switchLang.addEventListener('click', () => {
    setLang(lang() === 'zh' ? 'en' : 'zh');
    document.title = t('title');
    render();
  });
  return h(
    'header',
    { class: 'top' },
    h('div', { class: 'brand' }, t('title')),
    session === null
      ? null
      : h(
          'nav',
          { class: 'main-nav' },
          link('/', 'nav.screen', route.name === 'screen' || route.name === 'unit'),
          link('/lists', 'nav.lists', route.name === 'lists'),
        ),
    session === null ? null : scope,
    h('div', { class: 'spacer' }),
    connection,
    session === null
      ? null
      : h('span', { class: 'who', 'data-role': session.role ?? '' }, `${roleName(session.role)} ${session.subject ?? ''}`),
    switchLang,
    session === null ? null : signOut,
  );
}

function render(): void {
  for (const view of mounted) {
    view.destroy();
  }
  mounted = [];
  document.title = t('title');
  const route = parseRoute(location.pathname, location.search);
  if (route.name === 'signin') {
    const view = mountSignIn(context, route.error, () => context.navigate('/'));
    mounted.push(view);
    root.replaceChildren(header(route), view.element);
    return;
  }
  if (store.session === null) {
    ensureSession()
      .then((ok) => (ok ? render() : toSignIn()))
      .catch((error: unknown) => {
        root.replaceChildren(h('p', { class: 'banner' }, `${t('error.load')}: ${String(error)}`));
      });
    return;
  }
  startLive();
  if (route.name === 'unit') {
    store.setScope(route.unitId);
  }
  let view: View;
  switch (route.name) {
    case 'screen':
    case 'unit':
      view = mountScreen(context);
      break;
    case 'lists':
      view = mountLists(context, route.tab);
      break;
    case 'event':
      view = mountEvent(context, route.eventId);
      break;
    default:
      view = { element: h('p', { class: 'banner' }, `404 ${route.path}`), destroy: () => undefined };
  }
  const tree = mountTree(context);
  mounted.push(tree, view);
  root.replaceChildren(
    header(route),
    banner,
    h('div', { class: `body route-${route.name}` }, h('aside', { class: 'side' }, tree.element), h('main', { class: 'content' }, view.element)),
  );
}

// Links inside the page navigate without reloading it (the live feed stays connected).
document.addEventListener('click', (click) => {
  const link = (click.target as Element).closest<HTMLAnchorElement>('a[data-link]');
  if (link !== null && click.button === 0 && !click.ctrlKey && !click.metaKey) {
    click.preventDefault();
    context.navigate(link.getAttribute('href') ?? '/');
  }
});
window.addEventListener('popstate', render);
render();
