/**
 * Requests per second per source address, with a temporary ban past the limit (Kamailio's `pike`
 * is the reference): a flood from one address is dropped before parsing, for `banMs`, and the ban
 * is logged once. Counting is a fixed one-second window per address; the table is bounded.
 *
 * @module
 */

export interface SourceLimiterOptions {
  /** Messages one address may send per second. */
  readonly perSecond: number;
  /** How long an address that went past it is dropped. */
  readonly banMs: number;
  /** Addresses tracked at most; past it the table starts over (a flood of sources). */
  readonly maxSources?: number;
}

interface Entry {
  windowStart: number;
  count: number;
  bannedUntil: number;
}

/** What `admit()` decided. */
export type Admission = "ok" | "banned" | "new-ban";

export class SourceLimiter {
  readonly #o: SourceLimiterOptions;
  readonly #sources = new Map<string, Entry>();

  constructor(options: SourceLimiterOptions) {
    this.#o = options;
  }

  /** Addresses banned now. */
  bans(now: number): number {
    let n = 0;
    for (const entry of this.#sources.values()) if (entry.bannedUntil > now) n++;
    return n;
  }

  /** Counts one message from `host` at `now` (ms); "new-ban" the first time it goes past. */
  admit(host: string, now: number): Admission {
    let entry = this.#sources.get(host);
    if (entry === undefined) {
      if (this.#sources.size >= (this.#o.maxSources ?? 100_000)) this.#forgetIdle(now);
      entry = { windowStart: now, count: 0, bannedUntil: 0 };
      this.#sources.set(host, entry);
    }
    if (entry.bannedUntil > now) return "banned";
    if (now - entry.windowStart >= 1000) {
      entry.windowStart = now;
      entry.count = 0;
    }
    if (++entry.count <= this.#o.perSecond) return "ok";
    entry.bannedUntil = now + this.#o.banMs;
    return "new-ban";
  }

  /** Drops every address neither banned nor counted in the last second. */
  #forgetIdle(now: number): void {
    for (const [host, entry] of this.#sources) {
      if (entry.bannedUntil <= now && now - entry.windowStart >= 1000) this.#sources.delete(host);
    }
  }
}
