// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- test-only types: the project has no @types/react-dom
/// <reference path="./react-dom-client.d.ts" />
/**
 * Components rendered into jsdom: importing this gives each test of the file a fresh
 * `host` element to render into, unmounted after the test.
 */
import * as React from 'react';
import { createRoot, Root } from 'react-dom/client';

(
  globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }
).IS_REACT_ACT_ENVIRONMENT = true;

export let host: HTMLDivElement;
let root: Root;

beforeEach(() => {
  host = document.createElement('div');
  document.body.appendChild(host);
  root = createRoot(host);
});

afterEach(() => {
  React.act(() => root.unmount());
  host.remove();
});

export function render(element: React.ReactElement): void {
  React.act(() => root.render(element));
}

/** Type into an input or textarea as a user does (React listens to `input`). */
export function type(
  node: HTMLInputElement | HTMLTextAreaElement,
  text: string
): void {
  const proto = Object.getPrototypeOf(node);
  const setter = Object.getOwnPropertyDescriptor(proto, 'value')?.set;
  React.act(() => {
    setter?.call(node, text);
    node.dispatchEvent(new Event('input', { bubbles: true }));
  });
}
