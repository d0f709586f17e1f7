/**
 * The lines of a log, keeping only the last `maxLines` complete lines (plus the
 * unfinished last line) so that a huge log does not fill the page.
 */
export class LogBuffer {
  constructor(readonly maxLines: number) {}

  /** Lines dropped from the top so far. */
  dropped = 0;
  /** True when the log's beginning was never read (only its last lines). */
  skippedStart = false;
  lines: string[] = [];
  partial = '';

  append(text: string): void {
    if (!text) {
      return;
    }
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      this.lines.push(line);
    }
    const excess = this.lines.length - this.maxLines;
    if (excess > 0) {
      this.lines.splice(0, excess);
      this.dropped += excess;
    }
  }

  get text(): string {
    return (
      this.lines.join('\n') + (this.lines.length ? '\n' : '') + this.partial
    );
  }

  get empty(): boolean {
    return this.lines.length === 0 && this.partial === '';
  }
}
