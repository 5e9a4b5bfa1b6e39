// What every view is given: the store, the API client and navigation. A view builds its own
// element, subscribes to the store, and undoes all of it in destroy().

import type { Api } from './api/client';
import type { Store } from './store';

export interface Context {
  store: Store;
  api: Api;
  navigate(path: string): void;
}

export interface View {
  element: HTMLElement;
  destroy(): void;
}
