/**
 * A budget for log lines an outsider can trigger (a refused in-dialog request, a message that
 * would cross the boundary): a flood must not become a flood of log lines. The first `lines` of
 * each window are written; the next line written says how many were left out.
 *
 * @module
 */

export interface LogLimiterOptions {
  /** Lines per window; default 10. */
  readonly lines?: number;
  /** Window length in ms; default 60,000. */
  readonly windowMs?: number;
  /** Default Date.now. */
  readonly now?: () => number;
}

export class LogLimiter {
  readonly #lines: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  #windowStart = -Infinity;
  #written = 0;
  #skipped = 0;

  constructor(options: LogLimiterOptions = {}) {
    this.#lines = options.lines ?? 10;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** Calls `write(skipped)` if the budget allows a line now; otherwise counts it as skipped. */
  line(write: (skipped: number) => void): void {
    const now = this.#now();
    if (now - this.#windowStart >= this.#windowMs) {
      this.#windowStart = now;
      this.#written = 0;
    }
    if (this.#written >= this.#lines) {
      this.#skipped++;
      return;
    }
    this.#written++;
    const skipped = this.#skipped;
    this.#skipped = 0;
    write(skipped);
  }
}
