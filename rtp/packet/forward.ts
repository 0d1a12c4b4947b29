/**
 * The relay's per-datagram decision (the hot path): which source a leg accepts, where the datagram
 * goes, and the packet, byte and drop counters. No sockets here: the backend (rtp/packet/backend.ts)
 * moves the bytes and asks the `Forwarder` built here.
 *
 * Strict source: a leg accepts packets only from its party's hosts (its SIP source and SDP
 * address, rtp/media_peer.ts); anything else is a stranger's, dropped and counted, latched or not.
 *
 * Latching (symmetric RTP, the default on both sides; flag `a` turns it off for the side that sent
 * the SDP): the relay sends to the party's address until the party's first packet arrives, then
 * to that packet's source. The same host from another port re-latches at once (a NAT rebinding);
 * another of the party's hosts takes over only once the latched source has been silent for more
 * than `LATCH_SILENCE_MS` (judged by the 1 s sweep, so 2–3 s). RTP and RTCP latch separately, and
 * RTCP is counted apart: it never keeps the RTP stream alive. A latch is reset when the party's
 * SDP address changes.
 *
 * SRTP (rtp/srtp/): a leg whose party speaks SRTP has contexts. What the party sends is
 * authenticated and decrypted before it may latch, so a packet without the key never moves the
 * media (it is dropped and counted as an SRTP failure); what goes to it is encrypted last. With
 * rtcp-mux (RFC 5761) SRTCP arrives on the RTP socket: told apart by its packet type (200-204).
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
  /** Of `drops`: SRTP packets that failed authentication or the replay check. */
  srtpFailures: number;
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
  const drop = (stranger: boolean) => {
    from.drops++;
    totals.drops++;
    if (stranger) from.strangers++;
    return null;
  };
  const forwarder = {
    sendLength: 0,
    forward: (source: Deno.NetAddr, packet: Uint8Array, length: number) => {
      const latched = rtcp ? from.latchedRtcp : from.latchedRtp;
      const same = latched !== undefined && latched.port === source.port &&
        latched.hostname === source.hostname;
      // Strict source: only the party's own hosts, whatever the latch says.
      if (!same && !from.sources.has(source.hostname)) return drop(true);
      let n = length;
      const inbound = from.srtpIn;
      const outbound = to.srtpOut;
      // SRTCP or SRTP: the packet type is in clear, so this holds both ways (plain RTP: unread).
      const control = (inbound !== undefined || outbound !== undefined) &&
        (rtcp || isMuxedRtcp(packet, length));
      if (inbound !== undefined) {
        n = control ? inbound.unprotectRtcp(packet, n) : inbound.unprotectRtp(packet, n);
      } else if (from.srtpRequired) {
        // SRTP was required of this party and it gave no usable key: nothing it sends passes.
        n = -1;
      }
      if (n < 0) {
        from.srtpFailures++;
        totals.srtpFailures++;
        return drop(false);
      }
      if (!same && from.symmetric && !latch(from, source, rtcp, latched, now)) return drop(false);
      const dest = rtcp ? to.destRtcp : to.destRtp;
      if (dest === null) return drop(false);
      if (outbound !== undefined) {
        n = control ? outbound.protectRtcp(packet, n) : outbound.protectRtp(packet, n);
        if (n < 0) return drop(false);
      }
      forwarder.sendLength = n;
      const bytes = length;
      if (rtcp) {
        from.rtcpPackets++;
        from.rtcpBytes += bytes;
      } else {
        from.packets++;
        from.bytes += bytes;
      }
      totals.packets++;
      totals.bytes += bytes;
      return dest;
    },
    sendFailed: (count: number) => {
      to.drops += count;
      totals.drops += count;
    },
  };
  return forwarder;
}

/** RTCP on the RTP port (rtcp-mux, RFC 5761 §4): packet types 200-204 where RTP has M + PT. */
function isMuxedRtcp(packet: Uint8Array, length: number): boolean {
  if (length < 2) return false;
  const type = packet[1]!;
  return type >= 200 && type <= 204;
}

/**
 * Latches `leg` on `source` (one of the party's hosts): at once when nothing is latched or the
 * latched host changed only its port (a NAT rebinding); another of the party's hosts only once
 * the latched source has been silent.
 */
function latch(
  leg: Leg,
  source: Deno.NetAddr,
  rtcp: boolean,
  latched: Deno.NetAddr | undefined,
  clockNow: () => number,
): boolean {
  const now = clockNow();
  const rebinding = latched !== undefined && latched.hostname === source.hostname;
  if (latched !== undefined && !rebinding && now - leg.lastActive <= LATCH_SILENCE_MS) {
    return false;
  }
  if (rtcp) leg.latchedRtcp = source;
  else leg.latchedRtp = source;
  if (!rtcp) leg.lastActive = now;
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
