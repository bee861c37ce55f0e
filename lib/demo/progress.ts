/**
 * The demo's progress line on stderr: on a terminal, a bar redrawn in place per epoch with the
 * running loss; otherwise (CI logs, pipes) one line per finished epoch.
 */
export class ProgressBar {
  private readonly tty: boolean;
  private lastDraw = 0;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr, private readonly enabled = true) {
    this.tty = Boolean(stream.isTTY);
  }

  /** Step `done` of `total` in epoch `epoch` of `epochs`; redraws at most every 50 ms. */
  update(epoch: number, epochs: number, done: number, total: number, runningLoss: number): void {
    if (!this.enabled || !this.tty) return;
    const now = Date.now();
    if (done < total && now - this.lastDraw < 50) return;
    this.lastDraw = now;
    this.stream.write(`\r${this.line(epoch, epochs, done, total, runningLoss)}\x1b[K`);
  }

  /** The end of an epoch: the final bar stays on screen (or the line is logged). */
  finish(epoch: number, epochs: number, total: number, meanLoss: number, seconds: number): void {
    if (!this.enabled) return;
    const text = `${this.line(epoch, epochs, total, total, meanLoss)}  ${seconds.toFixed(1)} s`;
    this.stream.write(this.tty ? `\r${text}\x1b[K\n` : `${text}\n`);
  }

  private line(epoch: number, epochs: number, done: number, total: number, loss: number): string {
    const width = 24;
    const filled = total > 0 ? Math.round((width * done) / total) : width;
    const pad = String(epochs).length;
    return `epoch ${String(epoch).padStart(pad)}/${epochs} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ` +
      `${String(done).padStart(String(total).length)}/${total}  loss ${loss.toFixed(4)}`;
  }
}
