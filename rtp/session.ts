/**
 * Media session data: one per call leg pair (Call-ID + the caller's From tag), holding one stream per
 * m= line, each with one leg per party. Plain mutable records owned by relay.ts; the read-only
 * views (`CallInfo`, `RelayStats`) are what the admin API shows.
 *
 * @module
 */

import type { Side } from "../config/config.ts";
import type { RelaySocket } from "./packet/backend.ts";
import type { Leg } from "./packet/leg.ts";
import type { LegCrypto } from "./srtp_media.ts";

/** 0 = the party whose tag is the session's From tag (the caller), 1 = the other one. */
export type Party = 0 | 1;

/** The other party. */
export function otherParty(party: Party): Party {
  return party === 0 ? 1 : 0;
}

export interface Stream {
  readonly index: number;
  readonly type: string;
  /** [caller leg, callee leg]; undefined once closed (rejected, timed out). */
  legs: readonly [Leg, Leg] | undefined;
  /** Each party's SRTP keys, [caller, callee] (rtp/srtp_media.ts). */
  readonly crypto: readonly [LegCrypto, LegCrypto];
  /** Agreed direction is not sendrecv, or an address is 0.0.0.0: `holdTimeout` applies. */
  hold: boolean;
  /** Sum of both legs' packets at the last sweep. */
  seen: number;
  lastActive: number;
}

/** The last offer of a session and what its answer must commit. */
export interface Offer {
  readonly party: Party;
  readonly cseq: number;
  readonly method: string;
  /** The o= line, to tell a repeated offer (183 then 200, RFC 3262) from a new one. */
  readonly originLine: string;
  open: boolean;
  /** Streams this offer allocated: freed if it fails. */
  readonly created: readonly number[];
  /** Streams this offer disabled (port 0): freed when it is answered. */
  readonly disabled: readonly number[];
  /** Offer-side hold per m= index. */
  readonly holds: readonly boolean[];
}

/** Packets and bytes received from the parties on one side and relayed to the other side. */
export interface Relayed {
  packets: number;
  bytes: number;
}

/** A call's relayed media by the side it came from: `external` is external → internal. */
export interface CallTraffic {
  readonly external: Readonly<Relayed>;
  readonly internal: Readonly<Relayed>;
}

export interface MediaSession {
  readonly callId: string;
  readonly fromTag: string;
  readonly toTags: Set<string>;
  /** Interface each party is on: [caller side, callee side]. */
  readonly sides: readonly [Side, Side];
  readonly streams: (Stream | undefined)[];
  offer: Offer | undefined;
  /** A 2xx to an INVITE was seen: silence timeouts apply instead of the offer timeout. */
  confirmed: boolean;
  readonly createdAt: number;
  /** The outside source whose unanswered offers this session counts in, until answered. */
  countedFor: string | undefined;
  /** The outside source whose sessions this one counts in, until deleted. */
  heldFor: string | undefined;
  /** What the streams closed so far relayed (open streams keep theirs on their legs). */
  readonly closedTraffic: { readonly external: Relayed; readonly internal: Relayed };
}

export const CALL_STATE = {
  offered: "offered",
  answered: "answered",
  confirmed: "confirmed",
} as const;
export type CallState = typeof CALL_STATE[keyof typeof CALL_STATE];

export interface LegInfo {
  /** The side this party is on (the JSON keeps its first name). */
  readonly role: Side;
  readonly localPort: number;
  /** SDP address of the party, "host:port"; null when it must not be sent to. */
  readonly peer: string | null;
  /** Source the relay latched on, "host:port"; null when not latched. */
  readonly latched: string | null;
  readonly symmetric: boolean;
  /** RTP received from this party and relayed to the other. */
  readonly packets: number;
  readonly bytes: number;
  /** RTCP received from this party and relayed, counted apart. */
  readonly rtcpPackets: number;
  readonly drops: number;
  /** Of `drops`: packets from a host that is not the party's. */
  readonly strangers: number;
  /** "srtp" when the relay decrypts what this party sends, else "rtp". */
  readonly profile: "srtp" | "rtp";
  /** Of `drops`: the party's packets that failed SRTP authentication or the replay check. */
  readonly srtpFailures: number;
}

export interface StreamInfo {
  readonly index: number;
  readonly type: string;
  readonly hold: boolean;
  /** [caller leg, callee leg]. */
  readonly legs: readonly [LegInfo, LegInfo];
}

export interface CallInfo {
  readonly callId: string;
  readonly fromTag: string;
  readonly toTags: readonly string[];
  readonly state: CallState;
  readonly streams: readonly StreamInfo[];
}

export interface RelayStats {
  /** RTP/RTCP port pairs allocated, over all media addresses. */
  readonly portsInUse: number;
  /** Port pairs still available. */
  readonly portsFree: number;
  readonly sessions: number;
  /** Open streams (m= lines being relayed). */
  readonly streams: number;
  /** Since start, closed sessions included. */
  readonly packetsRelayed: number;
  readonly bytesRelayed: number;
  readonly drops: number;
  /** Of `drops`: SRTP packets that failed authentication or the replay check. */
  readonly srtpFailures: number;
  /** Offers refused by a cap (too many m= lines, too many unanswered from one source). */
  readonly offersRefused: number;
}

/** Read-only view of a session for `calls()`. */
export function callInfo(session: MediaSession): CallInfo {
  const streams: StreamInfo[] = [];
  for (const s of session.streams) {
    if (s?.legs === undefined) continue;
    streams.push({
      index: s.index,
      type: s.type,
      hold: s.hold,
      legs: [legInfo(s.legs[0]), legInfo(s.legs[1])],
    });
  }
  const state = session.confirmed
    ? CALL_STATE.confirmed
    : session.offer?.open === false
    ? CALL_STATE.answered
    : CALL_STATE.offered;
  return {
    callId: session.callId,
    fromTag: session.fromTag,
    toTags: [...session.toTags],
    state,
    streams,
  };
}

function legInfo(leg: Leg): LegInfo {
  return {
    role: leg.side,
    localPort: leg.port,
    peer: leg.sdpRtp ? `${leg.sdpRtp.hostname}:${leg.sdpRtp.port}` : null,
    latched: leg.latchedRtp ? `${leg.latchedRtp.hostname}:${leg.latchedRtp.port}` : null,
    symmetric: leg.symmetric,
    packets: leg.packets,
    bytes: leg.bytes,
    rtcpPackets: leg.rtcpPackets,
    drops: leg.drops,
    strangers: leg.strangers,
    profile: leg.srtpIn !== undefined ? "srtp" : "rtp",
    srtpFailures: leg.srtpFailures,
  };
}

/** Records latched-source activity seen since the last sweep. */
export function touch(leg: Leg, now: number): void {
  if (leg.packets !== leg.seen) {
    leg.seen = leg.packets;
    leg.lastActive = now;
  }
}

/** A fresh leg on two bound sockets: nothing known, symmetric until the SDP says otherwise. */
export function newLeg(
  side: Side,
  port: number,
  rtp: RelaySocket,
  rtcp: RelaySocket,
): Leg {
  return {
    side,
    port,
    rtp,
    rtcp,
    sdpKnown: false,
    sdpRtp: null,
    sdpRtcp: null,
    pendingRtp: undefined,
    pendingRtcp: undefined,
    symmetric: true,
    sources: new Set(),
    latchedRtp: undefined,
    latchedRtcp: undefined,
    destRtp: null,
    destRtcp: null,
    packets: 0,
    bytes: 0,
    rtcpPackets: 0,
    rtcpBytes: 0,
    drops: 0,
    strangers: 0,
    srtpIn: undefined,
    srtpOut: undefined,
    srtpInKey: undefined,
    srtpOutKey: undefined,
    srtpRequired: false,
    srtpFailures: 0,
    seen: 0,
    lastActive: 0,
    closed: false,
  };
}

/** Sets the SDP address; a changed address means a new source, so the latch starts over. */
export function setPeer(leg: Leg, rtp: Deno.NetAddr | null, rtcp: Deno.NetAddr | null): void {
  if (!sameAddr(leg.sdpRtp, rtp)) leg.latchedRtp = undefined;
  if (!sameAddr(leg.sdpRtcp, rtcp)) leg.latchedRtcp = undefined;
  leg.sdpRtp = rtp;
  leg.sdpRtcp = rtcp;
}

/** Same host and port (or both null). */
export function sameAddr(a: Deno.NetAddr | null, b: Deno.NetAddr | null): boolean {
  return a === b || (a !== null && b !== null && a.hostname === b.hostname && a.port === b.port);
}

/** A UDP address, as the relay sockets send to and report sources. */
export function udp(hostname: string, port: number): Deno.NetAddr {
  return { transport: "udp", hostname, port };
}
