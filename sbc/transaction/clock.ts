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

/** What drives a `TimerWheel`; the defaults are the runtime's clock and interval timer. */
export interface TimerWheelOptions {
  /** Slot width and tick period in ms; default 20. */
  readonly tickMs?: number;
  /** Milliseconds, monotonic; default `performance.now()`. */
  readonly now?: () => number;
  /** Calls `fn` every `ms` until the returned function is called; default `setInterval`. */
  readonly schedule?: (fn: () => void, ms: number) => () => void;
}

function everyMs(fn: () => void, ms: number): () => void {
  const interval = setInterval(fn, ms);
  return () => clearInterval(interval);
}

/**
 * A coarse timer wheel: one interval drives every SIP timer, so thousands of live transactions
 * cost map entries, not runtime timers (each of which the runtime wraps in an object and promise).
 * Timers fire up to one tick late, which RFC 3261 timers (>= 500 ms) tolerate.
 */
export class TimerWheel implements Clock {
  #tick: number;
  #now: () => number;
  #nextId = 1;
  #timers = new Map<number, () => void>();
  /** Slot number → ids due in it. */
  #slots = new Map<number, number[]>();
  #done = 0;
  #stop: () => void;

  constructor(options: TimerWheelOptions = {}) {
    this.#tick = options.tickMs ?? 20;
    this.#now = options.now ?? (() => performance.now());
    this.#done = Math.floor(this.#now() / this.#tick);
    this.#stop = (options.schedule ?? everyMs)(() => this.#advance(), this.#tick);
  }

  now(): number {
    return this.#now();
  }

  setTimer(fn: () => void, ms: number): number {
    const id = this.#nextId++;
    this.#timers.set(id, fn);
    const slot = Math.max(this.#done + 1, Math.ceil((this.#now() + ms) / this.#tick));
    const ids = this.#slots.get(slot);
    if (ids) ids.push(id);
    else this.#slots.set(slot, [id]);
    return id;
  }

  clearTimer(id: number): void {
    this.#timers.delete(id);
  }

  #advance(): void {
    const current = Math.floor(this.#now() / this.#tick);
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
            err: err instanceof Error ? err.message : `${err}`,
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
    this.#stop();
    this.#timers.clear();
    this.#slots.clear();
  }
}
