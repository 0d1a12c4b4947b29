/**
 * The timeout decisions of the relay's 1 s sweep, per session: no 2xx within the offer timeout,
 * and per stream silence past the timeout (or the hold timeout for a stream on hold). No I/O: it
 * updates the activity bookkeeping in the session records and says what to close; the relay
 * closes the sockets and logs.
 *
 * @module
 */

import { type MediaSession, type Stream, touch } from "./session.ts";

/** Timeouts in clock ms. */
export interface Timeouts {
  /** Silence before a stream is closed. */
  readonly silenceMs: number;
  /** Silence before a stream on hold is closed. */
  readonly holdMs: number;
  /** Wait for a 2xx to the INVITE. */
  readonly offerMs: number;
}

/** Why a sweep ends a whole session (also the reason logged on deletion). */
export const SWEEP_END = {
  offerTimeout: "offer timeout",
  silence: "timeout",
} as const;
export type SweepEnd = typeof SWEEP_END[keyof typeof SWEEP_END];

export interface SweepResult {
  /** Streams silent for too long: close them, in this order. */
  readonly expired: readonly Stream[];
  /** Delete the session (after closing `expired`); undefined = keep it. */
  readonly end: SweepEnd | undefined;
}

const KEEP: SweepResult = { expired: [], end: undefined };

/** Records the activity since the last sweep and decides what has timed out at `now`. */
export function sweepSession(session: MediaSession, now: number, limits: Timeouts): SweepResult {
  if (!session.confirmed) {
    if (now - session.createdAt > limits.offerMs) {
      return { expired: [], end: SWEEP_END.offerTimeout };
    }
    // Packets may flow before the 2xx (early media): keep latch activity current.
    for (const s of session.streams) if (s?.legs) { for (const l of s.legs) touch(l, now); }
    return KEEP;
  }
  const expired: Stream[] = [];
  let open = 0;
  for (const stream of session.streams) {
    const legs = stream?.legs;
    if (stream === undefined || legs === undefined) continue;
    touch(legs[0], now);
    touch(legs[1], now);
    const total = legs[0].packets + legs[1].packets;
    if (total !== stream.seen) {
      stream.seen = total;
      stream.lastActive = now;
    } else if (now - stream.lastActive > (stream.hold ? limits.holdMs : limits.silenceMs)) {
      expired.push(stream);
      continue;
    }
    open++;
  }
  return { expired, end: open === 0 ? SWEEP_END.silence : undefined };
}
