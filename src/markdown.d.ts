// Markdown files are bundled as their text (the builder's `asset/source` rule).
declare module '*.md' {
  const text: string;
  export default text;
}
