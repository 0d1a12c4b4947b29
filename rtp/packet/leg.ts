/**
 * One party's side of one stream as the packet path sees it: the relay's socket pair facing the
 * party, where packets for the party go (SDP address or latched source), and the counters. The
 * control side (rtp/session.ts, rtp/offer_answer.ts) sets the addresses; rtp/packet/forward.ts
 * latches and counts.
 *
 * @module
 */

import type { Side } from "../../config/config.ts";
import type { SrtpContext } from "../srtp/context.ts";
import type { SdesCrypto } from "../srtp/sdes.ts";
import type { RelaySocket } from "./backend.ts";

/**
 * The relay's sockets facing one party for one stream: the party sends to `rtp`/`rtcp`, and what
 * the other party sends leaves through them towards `destRtp`/`destRtcp`.
 */
export interface Leg {
  readonly side: Side;
  /** Local RTP port; RTCP is port + 1. */
  readonly port: number;
  readonly rtp: RelaySocket;
  readonly rtcp: RelaySocket;
  /** The party's SDP has been seen for this stream. */
  sdpKnown: boolean;
  /** Where the party's SDP says it receives; null = nowhere (0.0.0.0 hold, or not known yet). */
  sdpRtp: Deno.NetAddr | null;
  sdpRtcp: Deno.NetAddr | null;
  /** Address from an open re-offer, applied when it is answered (RFC 3264 §8.3.1). */
  pendingRtp: Deno.NetAddr | null | undefined;
  pendingRtcp: Deno.NetAddr | null | undefined;
  /** Latch on the party's packets (false with flag `a`). */
  symmetric: boolean;
  /** Hosts the party's media may come from (rtp/media_peer.ts); a packet from another is dropped. */
  sources: ReadonlySet<string>;
  latchedRtp: Deno.NetAddr | undefined;
  latchedRtcp: Deno.NetAddr | undefined;
  /** Where packets for this party go now: latched source if any, else the SDP address. */
  destRtp: Deno.NetAddr | null;
  destRtcp: Deno.NetAddr | null;
  /** Packets and bytes received from this party and relayed. */
  packets: number;
  bytes: number;
  /** RTCP relayed from this party, apart: RTCP never proves the RTP stream alive. */
  rtcpPackets: number;
  rtcpBytes: number;
  /** Packets from this party's direction that were not relayed (foreign source, no destination). */
  drops: number;
  /** Of `drops`: packets from a host that is not the party's (a stranger's). */
  strangers: number;
  /**
   * SRTP on this party's side (rtp/srtp_media.ts sets them): `srtpIn` turns what the party sends
   * into RTP, `srtpOut` what it receives into SRTP. Undefined: plain RTP that way.
   */
  srtpIn: SrtpContext | undefined;
  srtpOut: SrtpContext | undefined;
  /** The keys those contexts were opened with (a re-offer with the same key keeps them). */
  srtpInKey: SdesCrypto | undefined;
  srtpOutKey: SdesCrypto | undefined;
  /**
   * The party must send SRTP (its side is "mandatory", or it was offered SRTP) and gave no key
   * the relay can use: everything it sends is dropped, never passed on unchecked.
   */
  srtpRequired: boolean;
  /** Of `drops`: the party's packets that failed SRTP authentication or the replay check. */
  srtpFailures: number;
  /** `packets` at the last sweep. */
  seen: number;
  /** Last time (clock ms) the latched source was known to be sending. */
  lastActive: number;
  closed: boolean;
}

/** Recomputes where packets for the party go: latched source if symmetric, else SDP address. */
export function updateDest(leg: Leg): void {
  if (!leg.symmetric) leg.latchedRtp = leg.latchedRtcp = undefined;
  leg.destRtp = leg.sdpRtp === null ? null : leg.latchedRtp ?? leg.sdpRtp;
  leg.destRtcp = leg.sdpRtcp === null ? null : leg.latchedRtcp ?? leg.sdpRtcp;
}
