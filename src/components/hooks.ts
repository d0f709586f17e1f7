import { ISignal } from '@lumino/signaling';
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { errorMessage, JobsAPIError } from '../api';

/** Re-render whenever `signal` is emitted. */
export function useSignal(signal: ISignal<any, any>): void {
  const [, setVersion] = React.useState(0);
  React.useEffect(() => {
    const onChange = () => setVersion(v => v + 1);
    signal.connect(onChange);
    return () => {
      signal.disconnect(onChange);
    };
  }, [signal]);
}

/** The current time, updated every `intervalMs` (for live durations). */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = React.useState(Date.now());
  React.useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), intervalMs);
    return () => window.clearInterval(timer);
  }, [intervalMs]);
  return now;
}

/** The element's size, kept up to date with a ResizeObserver. */
export function useSize(ref: React.RefObject<HTMLElement>): {
  width: number;
  height: number;
} {
  const [size, setSize] = React.useState({ width: 0, height: 0 });
  React.useEffect(() => {
    const node = ref.current;
    if (!node) {
      return;
    }
    const measure = () =>
      setSize(old =>
        old.width === node.clientWidth && old.height === node.clientHeight
          ? old
          : { width: node.clientWidth, height: node.clientHeight }
      );
    measure();
    if (typeof ResizeObserver === 'undefined') {
      return;
    }
    const observer = new ResizeObserver(measure);
    observer.observe(node);
    return () => observer.disconnect();
  }, [ref]);
  return size;
}

/** What `useLoaded` holds: the last answer, why the last ask failed. */
export interface ILoaded<T> {
  value: T | null;
  error: string | null;
  /** The server answered 404: there is no such thing (or not for this user). */
  notFound: boolean;
  /** Ask again at once. */
  reload: () => void;
}

/**
 * What `load()` answers, asked when `deps` change: at once, or once they have been
 * still for `delayMs` (a preview as the user types); then every `pollMs` while the
 * page is visible (never without it). The last answer stays when a later ask fails.
 */
export function useLoaded<T>(
  load: () => Promise<T>,
  deps: React.DependencyList,
  trans: TranslationBundle,
  timing: { delayMs?: number; pollMs?: number } = {}
): ILoaded<T> {
  const { delayMs = 0, pollMs = 0 } = timing;
  const [value, setValue] = React.useState<T | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [notFound, setNotFound] = React.useState(false);
  const [version, setVersion] = React.useState(0);
  React.useEffect(() => {
    let current = true;
    const fetch = () =>
      load().then(
        answer => {
          if (current) {
            setValue(answer);
            setError(null);
          }
        },
        e => {
          if (current) {
            setNotFound(e instanceof JobsAPIError && e.status === 404);
            setError(errorMessage(e, trans));
          }
        }
      );
    let delay: number | undefined;
    if (delayMs > 0) {
      delay = window.setTimeout(fetch, delayMs);
    } else {
      void fetch();
    }
    const poll = pollMs
      ? window.setInterval(() => {
          if (!document.hidden) {
            void fetch();
          }
        }, pollMs)
      : undefined;
    return () => {
      current = false;
      window.clearTimeout(delay);
      window.clearInterval(poll);
    };
  }, [...deps, version]);
  return { value, error, notFound, reload: () => setVersion(v => v + 1) };
}

const POLL_MS = 10000;

/** `useLoaded`, asked again every 10 s while the page is visible. */
export function usePolled<T>(
  load: () => Promise<T>,
  deps: React.DependencyList,
  trans: TranslationBundle
): ILoaded<T> {
  return useLoaded(load, deps, trans, { pollMs: POLL_MS });
}
