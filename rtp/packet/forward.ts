/**
 * The relay's per-datagram decision (the hot path): which source a leg accepts, where the datagram
 * goes, and the packet, byte and drop counters. No sockets here: the backend (rtp/packet/backend.ts)
 * moves the bytes and asks the `Forwarder` built here.
 *
 * Latching (symmetric RTP, the default on both sides; flag `a` turns it off for the side that sent
 * the SDP): the relay sends to the party's SDP address until the party's first packet arrives, then
 * to that packet's source. A packet from another source is dropped while the latched source is
 * alive; once the latched source has been silent for more than `LATCH_SILENCE_MS` (judged by the
 * 1 s sweep, so 2–3 s), the next source wins. That stops a third party from taking over a flowing
 * stream and still follows a phone whose NAT binding changed. RTP and RTCP latch separately.
 * A latch is reset when the party's SDP address changes.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { Forwarder } from "./backend.ts";
import { type Leg, updateDest } from "./leg.ts";

/** How long a latched source must be silent before another source may take its place. */
export const LATCH_SILENCE_MS = 2000;

/** Relay-wide counters since start, closed sessions included. */
export interface RelayTotals {
  packets: number;
  bytes: number;
  drops: number;
}

export interface ForwarderOptions {
  /** The forwarder is for the RTCP socket (port + 1). */
  readonly rtcp: boolean;
  readonly totals: RelayTotals;
  /** The relay's clock, in ms (latching compares silences). */
  readonly now: () => number;
}

const log = getLogger(["edgesbc", "rtp"]);

/** The decision for each datagram `from` sends, relayed towards `to`. */
export function legForwarder(from: Leg, to: Leg, options: ForwarderOptions): Forwarder {
  const { rtcp, totals, now } = options;
  return {
    forward: (source, bytes) => {
      if (from.symmetric) {
        const latched = rtcp ? from.latchedRtcp : from.latchedRtp;
        if (
          (latched === undefined || latched.port !== source.port ||
            latched.hostname !== source.hostname) && !latch(from, source, rtcp, latched, now)
        ) {
          from.drops++;
          totals.drops++;
          return null;
        }
      }
      const dest = rtcp ? to.destRtcp : to.destRtp;
      if (dest === null) {
        from.drops++;
        totals.drops++;
        return null;
      }
      from.packets++;
      from.bytes += bytes;
      totals.packets++;
      totals.bytes += bytes;
      return dest;
    },
    sendFailed: (count) => {
      to.drops += count;
      totals.drops += count;
    },
  };
}

/** Latches `leg` on `source` unless another source is latched and still alive. */
function latch(
  leg: Leg,
  source: Deno.NetAddr,
  rtcp: boolean,
  latched: Deno.NetAddr | undefined,
  clockNow: () => number,
): boolean {
  const now = clockNow();
  if (latched !== undefined && now - leg.lastActive <= LATCH_SILENCE_MS) return false;
  if (rtcp) leg.latchedRtcp = source;
  else leg.latchedRtp = source;
  leg.lastActive = now;
  updateDest(leg);
  log.debug("rtp.latch {side}:{port} {kind} -> {hostname}:{sourcePort}", {
    side: leg.side,
    port: leg.port,
    kind: rtcp ? "rtcp" : "rtp",
    hostname: source.hostname,
    sourcePort: source.port,
  });
  return true;
}
