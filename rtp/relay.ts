/**
 * The in-process RTP relay in rtpproxy bridge mode: each stream has a port pair on the media
 * address facing each party, and a packet received from one party leaves through the other
 * party's pair. `manage()` is what `rtpproxy_manage` is in Kamailio: it reads a SIP message,
 * creates, updates or deletes the media session, and returns the SDP to send on.
 *
 * Latching (symmetric RTP; rtp/packet/forward.ts): the relay sends to the party's SDP address until the
 * party's first packet arrives, then to that packet's source, and follows a new source only once
 * the latched one has been silent for `LATCH_SILENCE_MS`. A latch is reset when the party's SDP
 * address changes.
 *
 * Sessions are keyed by Call-ID + the caller's From tag; a request from the callee is found by its
 * To tag. How an offer or answer changes a session's streams is in rtp/offer_answer.ts (pure);
 * this class opens and closes the sockets that implies. Timeout decisions: rtp/timeouts.ts;
 * admin snapshots: rtp/snapshot.ts.
 *
 * `a=nortpproxy:yes`: an SDP carrying it is left unchanged (flag `f` overrides), as rtpproxy does.
 * Unlike the rtpproxy module (which appends the marker to every SDP it rewrites), edgesbc never adds
 * it: in bridge mode the SDP we send holds an address valid on one side only, and a hop that trusts
 * the marker (a proxying PBX hairpinning the call back through us) would skip the translation.
 *
 * Sockets come from a backend (rtp/packet/open_backend.ts): libc through FFI when `--allow-ffi` is granted
 * (recvmmsg/sendmmsg, 4 MiB receive buffers, DSCP EF), else `Deno.listenDatagram`; binding and
 * unbinding a leg's pair is in rtp/leg_sockets.ts, which owns the backend and the port pools.
 *
 * Not done: DSCP/TOS marking without FFI (Deno exposes no setsockopt), ICE candidate rewriting,
 * multipart bodies (only `application/sdp` is handled).
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { BackendName } from "./packet/backend.ts";
import { type Side, SRTP_MODE, type SrtpMode } from "../config/config.ts";
import type { MediaFlags } from "./flags.ts";
import type { RelayTotals } from "./packet/forward.ts";
import { LegSockets, startPumps } from "./leg_sockets.ts";
import { FlagsCache, messageSdp } from "./message_sdp.ts";
import { decideMedia, MEDIA_ACTION } from "./manage.ts";
import type { PeerRule } from "./media_peer.ts";
import {
  applyAnswer,
  applyOffer,
  dropOffer,
  findMatch,
  hasOpenStream,
  isRepeatedOffer,
  type Match,
  newSession,
  newStream,
  offerStateOf,
  passKey,
  rewriteOptions,
  streamsToOpen,
} from "./offer_answer.ts";
import type {
  MediaClock,
  MediaContext,
  MediaMessage,
  MediaOutcome,
  RelayLiveOptions,
  RelayOptions,
} from "./relay_types.ts";
import { rewriteSdp, type Sdp } from "./sdp.ts";
import {
  type CallInfo,
  type CallTraffic,
  type MediaSession,
  otherParty,
  type Party,
  type RelayStats,
  type Stream,
} from "./session.ts";
import { callList, callTraffic, relayStats } from "./snapshot.ts";
import {
  answerSecurity,
  closeContexts,
  offerSecurity,
  type OpenContext,
  readSecurity,
  srtpRequired,
  syncContexts,
} from "./srtp_media.ts";
import type { SdesCrypto } from "./srtp/sdes.ts";
import { openSrtpContext } from "./srtp/open_context.ts";
import { SWEEP_END, sweepSession, type Timeouts } from "./timeouts.ts";

const SWEEP_MS = 1000;
const NONE: MediaOutcome = { kind: "none" };
const EXHAUSTED: MediaOutcome = { kind: "reject", status: 503, reason: "Media ports exhausted" };
const BIND_FAILED: MediaOutcome = { kind: "reject", status: 503, reason: "Media relay failure" };
const NOT_ACCEPTABLE: MediaOutcome = { kind: "reject", status: 488, reason: "Not Acceptable Here" };

const log = getLogger(["edgesbc", "rtp"]);

/** A context per key and direction, on the faster backend that loads (rtp/srtp/open_context.ts). */
const openContext: OpenContext = (crypto, direction) =>
  openSrtpContext(crypto.master, { suite: crypto.suite, direction });

/** The relay: owns every media socket and the sweep timer; `close()` frees them all. */
export class MediaRelay {
  #sides: RelayOptions["sides"];
  readonly #sockets: LegSockets;
  #timeouts: Timeouts;
  readonly #clock: MediaClock;
  readonly #calls = new Map<string, MediaSession[]>();
  /** INVITEs whose SDP was deliberately left alone: their replies are not offers. */
  readonly #passthrough = new Map<string, number>();
  readonly #flags = new FlagsCache();
  readonly #totals: RelayTotals = { packets: 0, bytes: 0, drops: 0, srtpFailures: 0 };
  #maxStreams: number;
  #maxOffersPerSource: number;
  /** Unanswered offers per untrusted outside source (sessions not yet confirmed). */
  readonly #offersBySource = new Map<string, number>();
  #maxSessionsPerSource: number;
  /** Media sessions per untrusted outside source, answered or not. */
  readonly #sessionsBySource = new Map<string, number>();
  #offersRefused = 0;
  readonly #onTimeout: ((callId: string) => void) | undefined;
  #sweepTimer: number | undefined;
  #closed = false;

  constructor(options: RelayOptions) {
    this.#sides = options.sides;
    this.#maxStreams = options.maxStreams ?? 16;
    this.#maxOffersPerSource = options.maxOffersPerSource ?? 200;
    this.#maxSessionsPerSource = options.maxSessionsPerSource ?? 1000;
    this.#sockets = new LegSockets(options);
    this.#timeouts = {
      silenceMs: options.timeout * 1000,
      holdMs: options.holdTimeout * 1000,
      offerMs: options.offerTimeout * 1000,
    };
    this.#clock = options.clock;
    this.#onTimeout = options.onTimeout;
  }

  /**
   * New limits, timeouts and SRTP modes (a config reload), for new offers and the next sweep; a
   * session keeps its ports, addresses and keys. Media addresses and ports cannot change here.
   */
  reconfigure(options: RelayLiveOptions): void {
    this.#sides = {
      external: { ...this.#sides.external, srtp: options.srtp.external },
      internal: { ...this.#sides.internal, srtp: options.srtp.internal },
    };
    this.#timeouts = {
      silenceMs: options.timeout * 1000,
      holdMs: options.holdTimeout * 1000,
      offerMs: options.offerTimeout * 1000,
    };
    this.#maxStreams = options.maxStreams;
    this.#maxOffersPerSource = options.maxOffersPerSource;
    this.#maxSessionsPerSource = options.maxSessionsPerSource;
  }

  /** The socket backend in use. */
  get backend(): BackendName {
    return this.#sockets.backend;
  }

  /** Applies rtpproxy_manage to one message; never throws. */
  manage(ctx: MediaContext): MediaOutcome {
    if (this.#closed) return NONE;
    try {
      return this.#manage(ctx);
    } catch (e) {
      // A bug, not bad input: keep the call going without the relay rather than drop it.
      log.error("rtp.manage.failed {callId}: {error}", { callId: ctx.msg.callId, error: e });
      return NONE;
    }
  }

  /** Deletes every media session of a call (e.g. the proxy's own final reply to an INVITE). */
  deleteCall(callId: string): void {
    const list = this.#calls.get(callId);
    if (list === undefined) return;
    for (const session of [...list]) this.#delete(session, "deleted");
  }

  /** Counters for the admin API. */
  stats(): RelayStats {
    return relayStats({
      pools: this.#sockets.pools,
      calls: this.#calls.values(),
      totals: this.#totals,
      offersRefused: this.#offersRefused,
    });
  }

  /** One entry per media session. */
  calls(): CallInfo[] {
    return callList(this.#calls.values());
  }

  /** Packets and bytes relayed for a call so far, per side they came from; zero when unknown. */
  traffic(callId: string): CallTraffic {
    return callTraffic(this.#calls.get(callId));
  }

  /** Closes every socket and the sweep timer; the relay does nothing afterwards. */
  close(): void {
    if (this.#closed) return;
    for (const list of [...this.#calls.values()]) {
      for (const s of [...list]) this.#delete(s, "closed");
    }
    this.#stopSweep();
    this.#sockets.close();
    this.#closed = true;
  }

  #manage(ctx: MediaContext): MediaOutcome {
    const msg = ctx.msg;
    const isRequest = msg.kind === "request";
    const match = findMatch(this.#calls.get(msg.callId), msg);
    const action = decideMedia({
      kind: msg.kind,
      method: msg.method,
      status: msg.status,
      hasSdp: msg.sdp !== undefined,
      inDialog: ctx.inDialog,
      offer: offerStateOf(match, msg),
    });
    if (match !== undefined && !isRequest) {
      if (msg.toTag !== undefined && match.requestSender === 0) {
        match.session.toTags.add(msg.toTag);
      }
      if (msg.method === "INVITE" && msg.status >= 200 && msg.status < 300) {
        this.#confirm(match.session);
      }
    }
    switch (action) {
      case MEDIA_ACTION.offer:
        return this.#offer(ctx, match);
      case MEDIA_ACTION.answer:
        return match ? this.#answer(ctx, match) : NONE;
      case MEDIA_ACTION.cancelOffer:
        if (match) this.#cancelOffer(match.session);
        return NONE;
      case MEDIA_ACTION.delete:
        if (match) this.#delete(match.session, isRequest ? msg.method : `${msg.status}`);
        this.#passthrough.delete(passKey(msg));
        return NONE;
      default:
        return NONE;
    }
  }

  #offer(ctx: MediaContext, match: Match | undefined): MediaOutcome {
    const msg = ctx.msg;
    const isRequest = msg.kind === "request";
    const flags = this.#flags.get(ctx.flags);
    if (!isRequest && match === undefined && this.#passthrough.has(passKey(msg))) return NONE;
    const sdp = messageSdp(msg, flags);
    if (typeof sdp === "string") {
      if (isRequest) this.#pass(msg);
      return isRequest && sdp === "invalid" ? NOT_ACCEPTABLE : NONE;
    }
    if (match === undefined && flags.lookupOnly) {
      if (isRequest) this.#pass(msg);
      return NONE;
    }
    // Each m= line binds two sockets per side: an SDP with thousands takes every descriptor.
    if (sdp.streams.length > this.#maxStreams) {
      this.#offersRefused++;
      if (!isRequest) return NONE;
      this.#pass(msg);
      return { kind: "reject", status: 488, reason: "Too Many Media Streams" };
    }
    // One outside source may not hold every port with offers it never lets be answered.
    const counted = match === undefined && isRequest && ctx.from === "external" &&
        ctx.trustedSource !== true
      ? ctx.source.host
      : undefined;
    if (
      counted !== undefined && (this.#offersBySource.get(counted) ?? 0) >= this.#maxOffersPerSource
    ) {
      this.#offersRefused++;
      this.#pass(msg);
      return { kind: "reject", status: 503, reason: "Too Many Offers" };
    }
    if (
      counted !== undefined &&
      (this.#sessionsBySource.get(counted) ?? 0) >= this.#maxSessionsPerSource
    ) {
      this.#offersRefused++;
      this.#pass(msg);
      return { kind: "reject", status: 503, reason: "Too Many Sessions" };
    }
    let session: MediaSession;
    let sender: Party;
    if (match === undefined) {
      sender = isRequest ? 0 : 1;
      session = newSession(msg, { sender, from: ctx.from, to: ctx.to, now: this.#clock.now() });
    } else {
      session = match.session;
      sender = match.sender;
      // The same offer again in a 200 after a reliable 18x (RFC 3262 §5): rewrite, change nothing.
      if (!isRequest && isRepeatedOffer(match, sdp)) {
        return this.#render(session, sdp, otherParty(sender), flags);
      }
    }
    const receiver = otherParty(sender);
    // SRTP is read before any port is taken: an offer the sides' modes refuse changes nothing.
    const senderMode = this.#srtpMode(session.sides[sender]);
    const receiverMode = this.#srtpMode(session.sides[receiver]);
    const read = sdp.streams.map((st) =>
      st.port === 0 ? undefined : readSecurity(st, senderMode, receiverMode)
    );
    const refused = read.find((r) => r !== undefined && !r.ok);
    if (refused !== undefined && !refused.ok && isRequest) {
      if (match === undefined) this.#pass(msg);
      log.info("rtp.srtp.refused {callId}: {reason}", {
        callId: msg.callId,
        reason: refused.reason,
      });
      return { kind: "reject", status: 488, reason: refused.reason };
    }

    // Allocate first, so running out of ports changes nothing.
    const fresh: number[] = [];
    for (const st of streamsToOpen(session, sdp)) {
      const legs = this.#sockets.openPair(session.sides);
      if (typeof legs === "string") {
        for (const i of fresh) this.#closeStream(session, session.streams[i]!);
        for (const i of fresh) session.streams[i] = undefined;
        log.error("rtp.ports.exhausted {callId}: no free port pair for m= line {index}", {
          callId: msg.callId,
          index: st.index + 1,
        });
        if (isRequest) this.#pass(msg);
        return legs === "exhausted" ? EXHAUSTED : BIND_FAILED;
      }
      session.streams[st.index] = newStream(st, { legs, now: this.#clock.now() });
      fresh.push(st.index);
    }
    // Only now: a socket without a receive in flight closes at once, so a rollback above frees
    // its ports for the very next offer.
    const pumps = { totals: this.#totals, clock: this.#clock };
    for (const i of fresh) startPumps(session.streams[i]!.legs!, pumps);
    if (match === undefined) this.#add(session);
    if (counted !== undefined) {
      session.countedFor = session.heldFor = counted;
      this.#offersBySource.set(counted, (this.#offersBySource.get(counted) ?? 0) + 1);
      this.#sessionsBySource.set(counted, (this.#sessionsBySource.get(counted) ?? 0) + 1);
    }

    applyOffer(session, sdp, {
      party: sender,
      cseq: msg.cseq,
      method: msg.method,
      created: fresh,
      flags,
      peer: this.#peerRule(ctx, session.sides[sender], flags),
    });
    for (const st of sdp.streams) {
      const r = read[st.index];
      const stream = session.streams[st.index];
      if (r === undefined || stream?.legs === undefined) continue;
      // Only an offer in a reply gets here unusable (a request's is refused above).
      if (!r.ok) {
        log.warn("rtp.srtp.offer {callId}: {reason}", { callId: msg.callId, reason: r.reason });
      }
      this.#takeKey(stream, sender, r.ok ? r.theirs : undefined, senderMode, false);
    }
    if (ctx.to !== session.sides[receiver]) {
      log.warn("rtp.offer.side {callId}: sent to {to}, media leg is on {side}", {
        callId: msg.callId,
        to: ctx.to,
        side: session.sides[receiver],
      });
    }
    return this.#render(session, sdp, receiver, flags);
  }

  #answer(ctx: MediaContext, match: Match): MediaOutcome {
    const msg = ctx.msg;
    const session = match.session;
    const offer = session.offer;
    if (offer === undefined) return NONE;
    const flags = this.#flags.get(ctx.flags);
    const sdp = messageSdp(msg, flags);
    if (typeof sdp === "string") return NONE;
    const rejected = applyAnswer(session, sdp, {
      sender: match.sender,
      flags,
      peer: this.#peerRule(ctx, session.sides[match.sender], flags),
    });
    for (const stream of rejected) this.#closeStream(session, stream);
    const mode = this.#srtpMode(session.sides[match.sender]);
    const offererMode = this.#srtpMode(session.sides[offer.party]);
    for (const st of sdp.streams) {
      const stream = session.streams[st.index];
      if (st.port === 0 || stream?.legs === undefined) continue;
      const r = readSecurity(st, mode, offererMode);
      // An answer cannot be refused: one the relay cannot decrypt leaves the leg without its key,
      // so what it sends is dropped rather than passed on unchecked.
      if (!r.ok) {
        log.warn("rtp.srtp.answer {callId}: {reason}", { callId: msg.callId, reason: r.reason });
      }
      this.#takeKey(stream, match.sender, r.ok ? r.theirs : undefined, mode, true);
    }
    if (msg.kind === "request" && msg.method === "ACK") this.#confirm(session);
    return this.#render(session, sdp, offer.party, flags, "answer");
  }

  /**
   * A party's key from its offer or answer (undefined: none usable); where SRTP is required of
   * it and there is none, its leg passes nothing it sends.
   */
  #takeKey(
    stream: Stream,
    party: Party,
    theirs: SdesCrypto | undefined,
    mode: SrtpMode,
    answering: boolean,
  ): void {
    const crypto = stream.crypto[party];
    const leg = stream.legs![party];
    leg.srtpRequired = theirs === undefined && srtpRequired(mode, crypto, answering);
    if (leg.srtpRequired) {
      log.warn("rtp.srtp.missing {port}: SRTP required and no usable key: its media is dropped", {
        port: leg.port,
      });
    }
    crypto.theirs = theirs;
    syncContexts(leg, crypto, openContext);
  }

  #srtpMode(side: Side): SrtpMode {
    return this.#sides[side].srtp ?? SRTP_MODE.off;
  }

  /**
   * How the party on `side` that sent `ctx` is reached: the internal side (the PBX's) and
   * outside parties with flag `r`/`a` or a trusted source by their SDP address, others by their
   * SIP source (rtpproxy without `r`); never into the side's refused networks.
   */
  #peerRule(ctx: MediaContext, side: Side, flags: MediaFlags): PeerRule {
    return {
      sipSource: ctx.from === side ? ctx.source.host : undefined,
      trustSdp: side === "internal" || flags.trustAddress || ctx.trustedSource === true,
      refuse: this.#sides[side].refuse ?? [],
    };
  }

  #cancelOffer(session: MediaSession): void {
    if (session.offer === undefined) return;
    for (const stream of dropOffer(session)) this.#closeStream(session, stream);
    if (session.confirmed && !hasOpenStream(session)) this.#delete(session, "offer failed");
  }

  /**
   * The SDP for `to`: relay address of that party's side, its legs' ports, and where SRTP ends
   * here the relay's profile and key for each of its legs (whose contexts follow).
   */
  #render(
    session: MediaSession,
    sdp: Sdp,
    to: Party,
    flags: MediaFlags,
    kind: "offer" | "answer" = "offer",
  ): MediaOutcome {
    const side = this.#sides[session.sides[to]];
    const mode = this.#srtpMode(session.sides[to]);
    const otherEnded = this.#srtpMode(session.sides[otherParty(to)]) !== SRTP_MODE.off;
    const ended = mode !== SRTP_MODE.off || otherEnded;
    const security = sdp.streams.map((st) => {
      const stream = session.streams[st.index];
      if (st.port === 0 || stream?.legs === undefined) {
        // A line without legs still carries no key across where SRTP ends here.
        return ended ? { protocol: st.protocol, crypto: [] } : undefined;
      }
      const crypto = stream.crypto[to];
      const shown = kind === "offer"
        ? offerSecurity(st, mode, otherEnded, crypto)
        : answerSecurity(st, mode, otherEnded, crypto);
      syncContexts(stream.legs[to], crypto, openContext);
      return shown;
    });
    const options = rewriteOptions(session, sdp, {
      to,
      address: side.advertise ?? side.media,
      flags,
      ...(ended && { security }),
    });
    return { kind: "body", body: rewriteSdp(sdp, options) };
  }

  #confirm(session: MediaSession): void {
    if (session.confirmed) return;
    session.confirmed = true;
    this.#uncount(session);
    const now = this.#clock.now();
    for (const s of session.streams) if (s !== undefined) s.lastActive = now;
  }

  /** Remembers an INVITE left unproxied, so its 1xx/2xx SDP is not taken for an offer. */
  #pass(msg: MediaMessage): void {
    if (msg.method !== "INVITE" || msg.kind !== "request") return;
    this.#passthrough.set(passKey(msg), this.#clock.now());
    this.#startSweep();
  }

  #add(session: MediaSession): void {
    const list = this.#calls.get(session.callId);
    if (list === undefined) this.#calls.set(session.callId, [session]);
    else list.push(session);
    this.#startSweep();
  }

  /** An answered or deleted session no longer counts against its source's offers. */
  #uncount(session: MediaSession): void {
    const source = session.countedFor;
    if (source === undefined) return;
    session.countedFor = undefined;
    const left = (this.#offersBySource.get(source) ?? 1) - 1;
    if (left > 0) this.#offersBySource.set(source, left);
    else this.#offersBySource.delete(source);
  }

  #delete(session: MediaSession, why: string): void {
    this.#uncount(session);
    const holder = session.heldFor;
    if (holder !== undefined) {
      session.heldFor = undefined;
      const left = (this.#sessionsBySource.get(holder) ?? 1) - 1;
      if (left > 0) this.#sessionsBySource.set(holder, left);
      else this.#sessionsBySource.delete(holder);
    }
    for (const s of session.streams) if (s !== undefined) this.#closeStream(session, s);
    const list = this.#calls.get(session.callId);
    if (list !== undefined) {
      const i = list.indexOf(session);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.#calls.delete(session.callId);
    }
    log.debug("rtp.session.deleted {callId}: {why}", { callId: session.callId, why });
    if (this.#calls.size === 0 && this.#passthrough.size === 0) this.#stopSweep();
  }

  /** Closes a stream's sockets; what it relayed stays counted in the session. */
  #closeStream(session: MediaSession, stream: Stream): void {
    const legs = stream.legs;
    if (legs === undefined) return;
    for (const leg of legs) {
      session.closedTraffic[leg.side].packets += leg.packets + leg.rtcpPackets;
      session.closedTraffic[leg.side].bytes += leg.bytes + leg.rtcpBytes;
    }
    stream.legs = undefined;
    closeContexts(legs[0]);
    closeContexts(legs[1]);
    this.#sockets.closeLeg(legs[0]);
    this.#sockets.closeLeg(legs[1]);
  }

  #startSweep(): void {
    if (this.#sweepTimer !== undefined || this.#closed) return;
    this.#sweepTimer = this.#clock.setTimer(() => this.#sweep(), SWEEP_MS);
  }

  #stopSweep(): void {
    if (this.#sweepTimer === undefined) return;
    this.#clock.clearTimer(this.#sweepTimer);
    this.#sweepTimer = undefined;
  }

  /** Once a second: activity bookkeeping, silence and offer timeouts. */
  #sweep(): void {
    this.#sweepTimer = undefined;
    const now = this.#clock.now();
    for (const [key, at] of this.#passthrough) {
      if (now - at > this.#timeouts.offerMs) this.#passthrough.delete(key);
    }
    for (const list of [...this.#calls.values()]) {
      for (const session of [...list]) this.#sweepSession(session, now);
    }
    if (this.#calls.size > 0 || this.#passthrough.size > 0) this.#startSweep();
  }

  #reportTimeout(callId: string): void {
    try {
      this.#onTimeout?.(callId);
    } catch (e) {
      // The sweep must go on: other sessions still need their timeouts.
      log.error("rtp.timeout.callback {callId}: {error}", { callId, error: e });
    }
  }

  #sweepSession(session: MediaSession, now: number): void {
    const { expired, end } = sweepSession(session, now, this.#timeouts);
    for (const stream of expired) {
      log.info("rtp.stream.timeout {callId} m={index} {type}: silent for {s} s", {
        callId: session.callId,
        index: stream.index + 1,
        type: stream.type,
        s: Math.round((now - stream.lastActive) / 1000),
      });
      this.#closeStream(session, stream);
    }
    if (end === SWEEP_END.silence) this.#reportTimeout(session.callId);
    if (end === SWEEP_END.offerTimeout) {
      log.info("rtp.session.timeout {callId}: no 2xx within {s} s", {
        callId: session.callId,
        s: this.#timeouts.offerMs / 1000,
      });
    }
    if (end !== undefined) this.#delete(session, end);
  }
}
