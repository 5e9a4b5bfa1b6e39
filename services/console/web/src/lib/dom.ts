// A few DOM helpers: elements are built with textContent, never innerHTML, so that text from the
// API (descriptions, reasons, notes) is always text.

type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) {
      continue;
    }
    if (typeof value === 'function') {
      element.addEventListener(name.replace(/^on/, ''), value);
    } else if (name === 'class') {
      element.className = String(value);
    } else if (value === true) {
      element.setAttribute(name, '');
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

export function clear(element: Element): void {
  element.replaceChildren();
}

// Sets text only when it differs: writing the same text still costs a layout.
export function setText(element: Element, text: string): void {
  if (element.textContent !== text) {
    element.textContent = text;
  }
}

export const LIGHT_CLASS: Record<string, string> = {
  TRAFFIC_LIGHT_GREEN: 'light-green',
  TRAFFIC_LIGHT_YELLOW: 'light-yellow',
  TRAFFIC_LIGHT_RED: 'light-red',
  TRAFFIC_LIGHT_UNSPECIFIED: 'light-none',
};

// The traffic-light colours of the map and the feed (one table, so the test can check both).
export const LIGHT_COLOR: Record<string, string> = {
  TRAFFIC_LIGHT_GREEN: '#2fbf71',
  TRAFFIC_LIGHT_YELLOW: '#f2c12e',
  TRAFFIC_LIGHT_RED: '#e5484d',
  TRAFFIC_LIGHT_UNSPECIFIED: '#5b8def',
  NONE: '#2a3b57',
};
