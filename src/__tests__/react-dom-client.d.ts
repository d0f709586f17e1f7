// The part of react-dom/client these tests use (the project has no @types/react-dom).
declare module 'react-dom/client' {
  import * as React from 'react';

  export interface Root {
    render(children: React.ReactNode): void;
    unmount(): void;
  }

  export function createRoot(container: Element): Root;
}
