/** Clocks: the time source injected into everything that arms timers. */
import { getLogger } from "@logtape/logtape";

const log = getLogger(["edgesbc", "sip"]);

/** Time source injected into everything that arms timers, so tests can drive time by hand. */
export interface Clock {
  /** Milliseconds, monotonic enough for timeouts. */
  now(): number;
  setTimer(fn: () => void, ms: number): number;
  clearTimer(id: number): void;
}

/** The real clock: performance.now() and the runtime's timers. */
export const SYSTEM_CLOCK: Clock = {
  now: () => performance.now(),
  // Deno returns a number; the Node typings that npm packages pull in say Timeout.
  setTimer: (fn, ms) => setTimeout(fn, ms) as unknown as number,
  clearTimer: (id) => clearTimeout(id),
};

/** A clock that only moves when told to; for tests. */
export class ManualClock implements Clock {
  #now = 0;
  #nextId = 1;
  #timers = new Map<number, { at: number; fn: () => void }>();

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
      let next: [number, { at: number; fn: () => void }] | undefined;
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

/**
 * A coarse timer wheel: one interval drives every SIP timer, so thousands of live transactions
 * cost map entries, not runtime timers (each of which the runtime wraps in an object and promise).
 * Timers fire up to one tick late, which RFC 3261 timers (>= 500 ms) tolerate.
 */
export class TimerWheel implements Clock {
  #tick: number;
  #nextId = 1;
  #timers = new Map<number, () => void>();
  /** Slot number → ids due in it. */
  #slots = new Map<number, number[]>();
  #done = 0;
  #interval: ReturnType<typeof setInterval>;

  constructor(tickMs = 20) {
    this.#tick = tickMs;
    this.#done = Math.floor(performance.now() / tickMs);
    this.#interval = setInterval(() => this.#advance(), tickMs);
  }

  now(): number {
    return performance.now();
  }

  setTimer(fn: () => void, ms: number): number {
    const id = this.#nextId++;
    this.#timers.set(id, fn);
    const slot = Math.max(this.#done + 1, Math.ceil((performance.now() + ms) / this.#tick));
    const ids = this.#slots.get(slot);
    if (ids) ids.push(id);
    else this.#slots.set(slot, [id]);
    return id;
  }

  clearTimer(id: number): void {
    this.#timers.delete(id);
  }

  #advance(): void {
    const current = Math.floor(performance.now() / this.#tick);
    while (this.#done < current) {
      const slot = ++this.#done;
      const ids = this.#slots.get(slot);
      if (!ids) continue;
      this.#slots.delete(slot);
      for (const id of ids) {
        const fn = this.#timers.get(id);
        if (!fn) continue;
        this.#timers.delete(id);
        try {
          fn();
        } catch (err) {
          // One failing timer must not stop the others (the wheel serves every transaction).
          log.error("Timer callback failed: {err}", {
            err: err instanceof Error ? err.stack ?? err.message : `${err}`,
          });
        }
      }
    }
  }

  /** Armed timers; tests and stats use it. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Stops the wheel; armed timers never fire. */
  close(): void {
    clearInterval(this.#interval);
    this.#timers.clear();
    this.#slots.clear();
  }
}
