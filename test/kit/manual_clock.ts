/**
 * A clock that only moves when a test says so: the `Clock` of the transaction layer and the
 * `MediaClock` the relay declares, driven with `advance()`.
 *
 * @module
 */
import type { MediaClock } from "../../rtp/relay_types.ts";
import type { Clock } from "../../sbc/transaction/clock.ts";

interface Armed {
  readonly at: number;
  readonly fn: () => void;
}

/** A clock that only moves when told to; `pending` counts armed timers to prove cleanup. */
export class ManualClock implements Clock, MediaClock {
  #now = 0;
  #nextId = 1;
  #timers = new Map<number, Armed>();

  now(): number {
    return this.#now;
  }

  setTimer(fn: () => void, ms: number): number {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.#now + ms, fn });
    return id;
  }

  clearTimer(id: number): void {
    this.#timers.delete(id);
  }

  /** Advances time, firing due timers in order (timers armed by timers fire too). */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: [number, Armed] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      }
      if (!next) break;
      this.#timers.delete(next[0]);
      this.#now = next[1].at;
      next[1].fn();
    }
    this.#now = end;
  }

  /** Number of armed timers; tests use it to prove cleanup. */
  get pending(): number {
    return this.#timers.size;
  }
}
