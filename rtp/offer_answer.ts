/**
 * The offer/answer model (RFC 3264) applied to a media session's stream state: which session a
 * message belongs to, a new session for an initial offer, what an offer, an answer or a failed
 * offer changes in the legs' addresses, and the inputs for rewriting the SDP towards a party.
 * No I/O: these functions update the session records; the relay opens and closes the sockets they
 * name.
 *
 * A re-offer keeps each m= line's ports and applies the offerer's new address only when it is
 * answered (RFC 3264 §8.3.1), so a failed re-INVITE leaves the media as it was. Forked answers
 * (several To tags) share the offer's streams, the latest answer setting the peer.
 *
 * @module
 */

import type { Side } from "../config/config.ts";
import type { MediaFlags } from "./flags.ts";
import type { MediaMessage } from "./relay_types.ts";
import type { OfferState } from "./manage.ts";
import type { RewriteOptions, Sdp, SdpStream, StreamSecurity } from "./sdp.ts";
import { type MediaSession, otherParty, type Party, setPeer, type Stream, udp } from "./session.ts";
import { type Leg, updateDest } from "./packet/leg.ts";
import { mediaPeer, type PeerRule } from "./media_peer.ts";
import { noCrypto } from "./srtp_media.ts";

/** A message's session, and who sent what from the session's point of view. */
export interface Match {
  readonly session: MediaSession;
  /** Party that sent this message. */
  readonly sender: Party;
  /** Party that sent the request of this message's transaction. */
  readonly requestSender: Party;
}

/** The session `msg` belongs to: by the caller's From tag, or (sent by the callee) its To tag. */
export function findMatch(
  sessions: readonly MediaSession[] | undefined,
  msg: MediaMessage,
): Match | undefined {
  if (sessions === undefined) return undefined;
  const fromTag = msg.fromTag ?? "";
  for (const session of sessions) {
    let requestSender: Party;
    if (session.fromTag === fromTag) requestSender = 0;
    else if (msg.toTag !== undefined && session.fromTag === msg.toTag) requestSender = 1;
    else continue;
    const sender = msg.kind === "request" ? requestSender : otherParty(requestSender);
    return { session, sender, requestSender };
  }
  return undefined;
}

/** The session's last offer as `decideMedia()` sees it from `msg`; undefined when there is none. */
export function offerStateOf(match: Match | undefined, msg: MediaMessage): OfferState | undefined {
  const offer = match?.session.offer;
  if (match === undefined || offer === undefined) return undefined;
  return {
    open: offer.open,
    fromRequestSender: offer.party === match.requestSender,
    inTransaction: offer.cseq === msg.cseq &&
      (offer.method === msg.method || (msg.method === "ACK" && offer.method === "INVITE")),
  };
}

export interface NewSessionOptions {
  /** Party that sent the offer: 0 for a request, 1 for an offer in a reply. */
  readonly sender: Party;
  /** Side `msg` was received on. */
  readonly from: Side;
  /** Side `msg` is being sent to. */
  readonly to: Side;
  /** Clock ms. */
  readonly now: number;
}

/** A session for an initial offer in `msg`, with no streams yet. */
export function newSession(msg: MediaMessage, options: NewSessionOptions): MediaSession {
  const { sender, from, to } = options;
  const sides: [Side, Side] = sender === 0 ? [from, to] : [to, from];
  const session: MediaSession = {
    callId: msg.callId,
    fromTag: msg.fromTag ?? "",
    toTags: new Set(),
    sides,
    streams: [],
    offer: undefined,
    confirmed: false,
    createdAt: options.now,
    countedFor: undefined,
    heldFor: undefined,
    closedTraffic: { external: { packets: 0, bytes: 0 }, internal: { packets: 0, bytes: 0 } },
  };
  if (msg.toTag !== undefined && msg.kind !== "request") session.toTags.add(msg.toTag);
  return session;
}

/**
 * The reply's offer is the session's last one again, as a 200 after a reliable 18x repeats it
 * (RFC 3262 §5): rewrite it, change nothing.
 */
export function isRepeatedOffer(match: Match, sdp: Sdp): boolean {
  const last = match.session.offer;
  return last !== undefined && last.party === match.sender && !last.open &&
    last.originLine === sdp.originLine && sdp.originLine !== "";
}

/** The m= lines of an offer that need a new port pair: active, and without legs yet. */
export function streamsToOpen(session: MediaSession, sdp: Sdp): SdpStream[] {
  return sdp.streams.filter((st) => st.port !== 0 && session.streams[st.index]?.legs === undefined);
}

export interface NewStreamOptions {
  /** The stream's freshly opened legs. */
  readonly legs: readonly [Leg, Leg];
  /** Clock ms. */
  readonly now: number;
}

/** The stream record for m= line `st`. */
export function newStream(st: SdpStream, options: NewStreamOptions): Stream {
  const { legs, now } = options;
  return {
    index: st.index,
    type: st.type,
    legs,
    crypto: [noCrypto(), noCrypto()],
    hold: st.hold,
    seen: 0,
    lastActive: now,
  };
}

export interface OfferInput {
  readonly party: Party;
  readonly cseq: number;
  readonly method: string;
  /** m= indexes whose legs this offer opened. */
  readonly created: readonly number[];
  readonly flags: MediaFlags;
  /** Whom the offerer's media may come from and where it goes (rtp/media_peer.ts). */
  readonly peer: PeerRule;
}

/**
 * Records an offer: the offerer's addresses (pending until answered when already known) and
 * the offer the answer must commit, as `session.offer`.
 */
export function applyOffer(session: MediaSession, sdp: Sdp, offer: OfferInput): void {
  const disabled: number[] = [];
  const holds: boolean[] = [];
  for (const st of sdp.streams) {
    holds[st.index] = st.hold;
    const stream = session.streams[st.index];
    if (stream?.legs === undefined) continue;
    if (st.port === 0) {
      disabled.push(st.index);
      continue;
    }
    const leg = stream.legs[offer.party];
    leg.symmetric = !offer.flags.asymmetric;
    const { rtp, rtcp } = peerAddresses(leg, st, offer.peer, true);
    if (leg.sdpKnown) {
      leg.pendingRtp = rtp;
      leg.pendingRtcp = rtcp;
    } else {
      setPeer(leg, rtp, rtcp);
      leg.sdpKnown = true;
    }
    updateDest(leg);
  }
  session.offer = {
    party: offer.party,
    cseq: offer.cseq,
    method: offer.method,
    originLine: sdp.originLine,
    open: true,
    created: offer.created,
    disabled,
    holds,
  };
}

export interface AnswerInput {
  /** Party that sent the answer. */
  readonly sender: Party;
  readonly flags: MediaFlags;
  /** Whom the answerer's media may come from and where it goes (rtp/media_peer.ts). */
  readonly peer: PeerRule;
}

/**
 * Commits the open offer with `sdp` as its answer: both parties' addresses and the agreed hold.
 * @returns the streams the answer rejected or left out, for the caller to close, in order.
 */
export function applyAnswer(session: MediaSession, sdp: Sdp, answer: AnswerInput): Stream[] {
  const offer = session.offer;
  if (offer === undefined) return [];
  const offerer = offer.party;
  const rejected: Stream[] = [];
  for (const st of sdp.streams) {
    const stream = session.streams[st.index];
    if (stream?.legs === undefined) continue;
    if (st.port === 0 || offer.disabled.includes(st.index)) {
      rejected.push(stream);
      continue;
    }
    const leg = stream.legs[answer.sender];
    leg.symmetric = !answer.flags.asymmetric;
    const { rtp, rtcp } = peerAddresses(leg, st, answer.peer, false);
    setPeer(leg, rtp, rtcp);
    leg.sdpKnown = true;
    updateDest(leg);
    const mine = stream.legs[offerer];
    if (mine.pendingRtp !== undefined) {
      setPeer(mine, mine.pendingRtp, mine.pendingRtcp ?? null);
      mine.pendingRtp = mine.pendingRtcp = undefined;
      updateDest(mine);
    }
    stream.hold = (offer.holds[st.index] ?? false) || st.hold;
  }
  // Offered streams the answer left out (a broken answer): nothing will flow on them.
  for (let i = sdp.streams.length; i < session.streams.length; i++) {
    const stream = session.streams[i];
    if (stream !== undefined && offer.created.includes(i)) rejected.push(stream);
  }
  offer.open = false;
  return rejected;
}

/**
 * Where a party's media for m= line `st` goes, by its rule, and (as a side effect on the leg)
 * whom it may come from: the new hosts, plus the old ones for a re-offer until it is answered.
 */
function peerAddresses(
  leg: Leg,
  st: SdpStream,
  rule: PeerRule,
  offer: boolean,
): { rtp: Deno.NetAddr | null; rtcp: Deno.NetAddr | null } {
  const media = mediaPeer(st.address, rule);
  const control = st.rtcpAddress === st.address ? media : mediaPeer(st.rtcpAddress, rule);
  const keep = offer && leg.sdpKnown ? [...leg.sources] : [];
  leg.sources = new Set([...keep, ...media.sources, ...control.sources]);
  if (st.nullAddress) return { rtp: null, rtcp: null };
  return {
    rtp: media.send === null ? null : udp(media.send, st.port),
    rtcp: control.send === null ? null : udp(control.send, st.rtcpPort),
  };
}

/**
 * Forgets a failed offer: the offerer's pending addresses are dropped.
 * @returns the streams the offer opened, for the caller to close.
 */
export function dropOffer(session: MediaSession): Stream[] {
  const offer = session.offer;
  if (offer === undefined) return [];
  for (const stream of session.streams) {
    const leg = stream?.legs?.[offer.party];
    if (leg !== undefined) leg.pendingRtp = leg.pendingRtcp = undefined;
  }
  const opened: Stream[] = [];
  for (const i of offer.created) {
    const stream = session.streams[i];
    if (stream !== undefined) opened.push(stream);
  }
  session.offer = undefined;
  return opened;
}

/** Some stream of the session still has its legs. */
export function hasOpenStream(session: MediaSession): boolean {
  return session.streams.some((s) => s?.legs !== undefined);
}

export interface RewriteInput {
  /** Party the SDP is sent to. */
  readonly to: Party;
  /** Relay address on that party's side, as advertised. */
  readonly address: string;
  readonly flags: MediaFlags;
  /** Profile and `a=crypto` per m= index where SRTP ends here (rtp/srtp_media.ts). */
  readonly security?: readonly (StreamSecurity | undefined)[];
}

/** The `rewriteSdp()` options for the SDP sent to a party: its side's address, its legs' ports. */
export function rewriteOptions(
  session: MediaSession,
  sdp: Sdp,
  input: RewriteInput,
): RewriteOptions {
  const ports: (number | undefined)[] = [];
  for (const st of sdp.streams) ports[st.index] = session.streams[st.index]?.legs?.[input.to].port;
  return {
    address: input.address,
    ports,
    sessionConnection: input.flags.sessionConnection,
    origin: input.flags.origin,
    ...(input.security && { security: input.security }),
  };
}

/** Key of an INVITE transaction whose SDP was left alone (Call-ID, From tag, CSeq number). */
export function passKey(msg: MediaMessage): string {
  return `${msg.callId}\n${msg.fromTag ?? ""}\n${msg.cseq}`;
}
