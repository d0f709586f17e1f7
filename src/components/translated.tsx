import * as React from 'react';

/**
 * Private-use characters around the node's index mark where it goes.
 *
 * The placeholder argument for the `index`-th node of `withNodes`: pass it to
 * `trans.__` in place of the text that is to be an element (a `<code>`, a `<strong>`).
 */
export function slot(index: number): string {
  return `\ue000${index}\ue001`;
}

/**
 * A translated message with elements in it: `message` was formatted with `slot(i)` for
 * `nodes[i]`, so the translation decides where each element goes.
 */
export function withNodes(
  message: string,
  ...nodes: React.ReactNode[]
): JSX.Element {
  const parts = message.split(/\ue000(\d+)\ue001/);
  return (
    <>
      {parts.map((part, i) =>
        i % 2 === 0 ? (
          part
        ) : (
          <React.Fragment key={i}>{nodes[Number(part)]}</React.Fragment>
        )
      )}
    </>
  );
}
