/**
 * Per-SSRC state of a crypto context (RFC 3711 §3.2.1): the highest packet index and the replay
 * window behind it, in a table of bounded size. Internal to rtp/srtp/.
 *
 * For SRTP the index is ROC · 2^16 + SEQ (§3.3.1), so the highest index holds both the rollover
 * counter and s_l; for SRTCP it is the 31-bit SRTCP index (§3.4).
 *
 * @module
 */

/** Replay window size (RFC 3711 §3.3.2: at least 64). */
export const REPLAY_WINDOW = 64;

/** One SSRC's state; mutable, owned by its table. */
export class SsrcState {
  ssrc = 0;
  /** Highest index accepted (received and authenticated, or sent); -1 before the first. */
  top = -1;
  /** Bit i set: index `top - i` was accepted (i < 64); low and high 32-bit halves. */
  lo = 0;
  hi = 0;
  /** Last use, for eviction. */
  used = 0;
}

/**
 * The index of an SRTP packet with sequence number `seq`, from the highest index so far
 * (RFC 3711 §3.3.1 and Appendix A): the ROC guess that puts it closest to s_l.
 */
export function estimateIndex(top: number, seq: number): number {
  if (top < 0) return seq;
  const roc = Math.floor(top / 0x10000);
  const sl = top - roc * 0x10000;
  let v = roc;
  if (sl < 0x8000) {
    // In the first cycle there is no ROC - 1: the packet is a jump forward (as libsrtp reads it).
    if (seq - sl > 0x8000 && roc > 0) v = roc - 1;
  } else if (sl - 0x8000 > seq) {
    v = roc + 1;
  }
  return v * 0x10000 + seq;
}

/** RFC 3711 §3.3.2: `index` is neither in the window already nor older than it. */
export function isFresh(s: SsrcState, index: number): boolean {
  if (index > s.top) return true;
  const d = s.top - index;
  if (d >= REPLAY_WINDOW) return false;
  return ((d < 32 ? s.lo >>> d : s.hi >>> (d - 32)) & 1) === 0;
}

/** Records `index` as accepted: slides the window when it is the new highest. */
export function accept(s: SsrcState, index: number): void {
  if (index > s.top) {
    const d = s.top < 0 ? REPLAY_WINDOW : index - s.top;
    if (d >= REPLAY_WINDOW) {
      s.hi = 0;
      s.lo = 0;
    } else if (d >= 32) {
      s.hi = s.lo << (d - 32);
      s.lo = 0;
    } else {
      s.hi = (s.hi << d) | (s.lo >>> (32 - d));
      s.lo = s.lo << d;
    }
    s.lo |= 1;
    s.top = index;
  } else {
    const d = s.top - index;
    if (d < 32) s.lo |= 1 << d;
    else s.hi |= 1 << (d - 32);
  }
}

/** At most `max` states; adding one more drops the least recently used. */
export class SsrcTable {
  readonly #states: SsrcState[] = [];
  readonly #max: number;
  readonly #onEvict: ((ssrc: number) => void) | undefined;
  #last: SsrcState | undefined;
  #clock = 0;

  constructor(max: number, onEvict?: (ssrc: number) => void) {
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`Cannot create SSRC table: size "${max}" is not a positive integer`);
    }
    this.#max = max;
    this.#onEvict = onEvict;
  }

  /** The state of `ssrc` (marked as used), or undefined. */
  get(ssrc: number): SsrcState | undefined {
    const last = this.#last;
    if (last !== undefined && last.ssrc === ssrc) {
      last.used = ++this.#clock;
      return last;
    }
    for (const s of this.#states) {
      if (s.ssrc === ssrc) {
        s.used = ++this.#clock;
        this.#last = s;
        return s;
      }
    }
    return undefined;
  }

  /** A new state for `ssrc` (not in the table), in the place of the least recently used. */
  add(ssrc: number): SsrcState {
    let s: SsrcState;
    if (this.#states.length < this.#max) {
      s = new SsrcState();
      this.#states.push(s);
    } else {
      s = this.#states.reduce((a, b) => (b.used < a.used ? b : a));
      this.#onEvict?.(s.ssrc);
    }
    s.ssrc = ssrc;
    s.top = -1;
    s.lo = 0;
    s.hi = 0;
    s.used = ++this.#clock;
    this.#last = s;
    return s;
  }

  get size(): number {
    return this.#states.length;
  }
}
