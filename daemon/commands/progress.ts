/**
 * A one-line progress display on stderr, only when stderr is a terminal and the work has
 * run for a second: percent of the file, records read. Lines printed meanwhile (bad rows)
 * clear it first.
 */
export class Progress {
  private readonly started = Date.now();
  private shown = false;
  private last = 0;
  private readonly tty = process.stderr.isTTY === true;

  constructor(private readonly total: number) {}

  update(bytes: number): void {
    if (!this.tty) return;
    const now = Date.now();
    if (now - this.started < 1000 || now - this.last < 200) return;
    this.last = now;
    const pct = this.total > 0 ? Math.min(100, (bytes / this.total) * 100) : 100;
    const width = 30;
    const filled = Math.round((pct / 100) * width);
    const mb = (n: number): string => (n / 1e6).toFixed(0);
    process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct.toFixed(0).padStart(3)}%  ${mb(bytes)}/${mb(this.total)} MB  ${((now - this.started) / 1000).toFixed(0)} s`);
    this.shown = true;
  }

  note(line: string): void {
    this.clear();
    process.stderr.write(`${line}\n`);
  }

  done(): void {
    this.clear();
  }

  private clear(): void {
    if (!this.shown) return;
    process.stderr.write('\r\x1b[K');
    this.shown = false;
  }
}
