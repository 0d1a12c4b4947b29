/**
 * The in-process RTP relay in rtpproxy bridge mode: each stream has a port pair on the media
 * address facing each party, and a packet received from one party leaves through the other
 * party's pair. `manage()` is what `rtpproxy_manage` is in Kamailio: it reads a SIP message,
 * creates, updates or deletes the media session, and returns the SDP to send on.
 *
 * Latching (symmetric RTP, the default on both sides; flag `a` turns it off for the side that sent
 * the SDP): the relay sends to the party's SDP address until the party's first packet arrives, then
 * to that packet's source. A packet from another source is dropped while the latched source is
 * alive; once the latched source has been silent for more than `LATCH_SILENCE_MS` (judged by the
 * 1 s sweep, so 2–3 s), the next source wins. That stops a third party from taking over a flowing
 * stream and still follows a phone whose NAT binding changed. RTP and RTCP latch separately.
 * A latch is reset when the party's SDP address changes.
 *
 * Sessions are keyed by Call-ID + the caller's From tag; a request from the callee is found by its
 * To tag. Forked answers (several To tags) share the offer's streams, the latest answer setting
 * the peer. A re-offer keeps each m= line's ports and applies the offerer's new address only when
 * it is answered (RFC 3264 §8.3.1), so a failed re-INVITE leaves the media as it was.
 *
 * `a=nortpproxy:yes`: an SDP carrying it is left unchanged (flag `f` overrides), as rtpproxy does.
 * Unlike the rtpproxy module (which appends the marker to every SDP it rewrites), edgesbc never adds
 * it: in bridge mode the SDP we send holds an address valid on one side only, and a hop that trusts
 * the marker (a proxying PBX hairpinning the call back through us) would skip the translation.
 *
 * Sockets come from a backend (rtp/datagram.ts): libc through FFI when `--allow-ffi` is granted
 * (recvmmsg/sendmmsg, 4 MiB receive buffers, DSCP EF), else `Deno.listenDatagram`. Ports go back
 * to the pool once the backend says the socket is unbound: at once for FFI, after the pending
 * receive has ended (a few event-loop turns after close) for Deno.
 *
 * Not done: DSCP/TOS marking without FFI (Deno exposes no setsockopt), ICE candidate rewriting,
 * multipart bodies (only `application/sdp` is handled).
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { Role } from "../config/config.ts";
import { type Clock, SYSTEM_CLOCK } from "../sbc/clock.ts";
import type { SipMessage } from "../sbc/message.ts";
import {
  type BackendName,
  type DatagramBackend,
  openBackend,
  type RelaySocket,
  type Route,
} from "./datagram.ts";
import { type MediaFlags, parseFlags } from "./flags.ts";
import { decideMedia, MEDIA_ACTION, type OfferState } from "./manage.ts";
import { PortPool } from "./port_pool.ts";
import { parseSdp, rewriteSdp, type Sdp } from "./sdp.ts";
import {
  type CallInfo,
  callInfo,
  type Leg,
  type MediaSession,
  newLeg,
  otherParty,
  type Party,
  type RelayStats,
  setPeer,
  type Stream,
  touch,
  udp,
  updateDest,
} from "./session.ts";

export type { CallInfo, RelayStats } from "./session.ts";
export type { BackendName } from "./datagram.ts";
export type { Clock } from "../sbc/clock.ts";

export interface MediaSide {
  /** Local address the RTP sockets for this side bind to (rtpproxy `-l`). */
  readonly media: string;
  /** Address written into SDP sent to this side (rtpproxy `-A`); undefined = `media`. */
  readonly advertise: string | undefined;
}

export interface RelayOptions {
  readonly sides: { readonly external: MediaSide; readonly internal: MediaSide };
  /** Inclusive port range, per media address. */
  readonly ports: readonly [number, number];
  /** Seconds of silence before a stream is closed. */
  readonly timeout: number;
  /** Seconds of silence for a stream on hold. */
  readonly holdTimeout: number;
  /** Seconds a session may wait for a 2xx to its INVITE. */
  readonly offerTimeout: number;
  readonly clock?: Clock;
  /** Socket backend; default `ffi` when available (see rtp/datagram.ts), else `deno`. */
  readonly backend?: BackendName;
}

export interface MediaContext {
  /** The message as received (request or reply). */
  readonly msg: SipMessage;
  /** Side it was received on. */
  readonly from: Role;
  /** Side it is being sent to. */
  readonly to: Role;
  /** SIP source address (informational: the SDP address is trusted, see flags.ts `r`). */
  readonly source: { readonly host: string; readonly port: number };
  /** rtpproxy_manage letters in force for this message (see flags.ts). */
  readonly flags: string;
  /** The request had a To tag (for a reply: its request had one). */
  readonly inDialog: boolean;
}

export type MediaOutcome =
  | { readonly kind: "none" }
  | { readonly kind: "body"; readonly body: string }
  | { readonly kind: "reject"; readonly status: number; readonly reason: string };

/** How long a latched source must be silent before another source may take its place. */
export const LATCH_SILENCE_MS = 2000;
const SWEEP_MS = 1000;
const NONE: MediaOutcome = { kind: "none" };
const EXHAUSTED: MediaOutcome = { kind: "reject", status: 503, reason: "Media ports exhausted" };
const BIND_FAILED: MediaOutcome = { kind: "reject", status: 503, reason: "Media relay failure" };
const NOT_ACCEPTABLE: MediaOutcome = { kind: "reject", status: 488, reason: "Not Acceptable Here" };

const log = getLogger(["edgesbc", "rtp"]);

interface Match {
  readonly session: MediaSession;
  /** Party that sent this message. */
  readonly sender: Party;
  /** Party that sent the request of this message's transaction. */
  readonly requestSender: Party;
}

/** The relay: owns every media socket and the sweep timer; `close()` frees them all. */
export class MediaRelay {
  readonly #sides: RelayOptions["sides"];
  readonly #sockets: DatagramBackend;
  readonly #pools = new Map<string, PortPool>();
  readonly #timeoutMs: number;
  readonly #holdTimeoutMs: number;
  readonly #offerTimeoutMs: number;
  readonly #clock: Clock;
  readonly #calls = new Map<string, MediaSession[]>();
  /** INVITEs whose SDP was deliberately left alone: their replies are not offers. */
  readonly #passthrough = new Map<string, number>();
  readonly #flags = new Map<string, MediaFlags>();
  readonly #totals = { packets: 0, bytes: 0, drops: 0 };
  #sweepTimer: number | undefined;
  #closed = false;

  constructor(options: RelayOptions) {
    this.#sides = options.sides;
    for (const side of [options.sides.external, options.sides.internal]) {
      if (!this.#pools.has(side.media)) {
        this.#pools.set(side.media, new PortPool(options.ports[0], options.ports[1]));
      }
    }
    this.#timeoutMs = options.timeout * 1000;
    this.#holdTimeoutMs = options.holdTimeout * 1000;
    this.#offerTimeoutMs = options.offerTimeout * 1000;
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#sockets = openBackend(
      [options.sides.external.media, options.sides.internal.media],
      options.backend,
    );
    log.info("rtp.backend {backend}", { backend: this.#sockets.name });
  }

  /** The socket backend in use. */
  get backend(): BackendName {
    return this.#sockets.name;
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
    let portsInUse = 0;
    let portsFree = 0;
    for (const pool of this.#pools.values()) {
      portsInUse += pool.inUse;
      portsFree += pool.free;
    }
    let sessions = 0;
    let streams = 0;
    for (const list of this.#calls.values()) {
      sessions += list.length;
      for (const s of list) for (const st of s.streams) if (st?.legs) streams++;
    }
    return {
      portsInUse,
      portsFree,
      sessions,
      streams,
      packetsRelayed: this.#totals.packets,
      bytesRelayed: this.#totals.bytes,
      drops: this.#totals.drops,
    };
  }

  /** One entry per media session. */
  calls(): CallInfo[] {
    const out: CallInfo[] = [];
    for (const list of this.#calls.values()) for (const s of list) out.push(callInfo(s));
    return out;
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
    const hasSdp = isSdpBody(msg);
    const match = this.#find(msg);
    const offer = match?.session.offer;
    let offerState: OfferState | undefined;
    if (match !== undefined && offer !== undefined) {
      offerState = {
        open: offer.open,
        fromRequestSender: offer.party === match.requestSender,
        inTransaction: offer.cseq === msg.cseq.seq &&
          (offer.method === msg.method || (msg.method === "ACK" && offer.method === "INVITE")),
      };
    }
    const action = decideMedia({
      kind: msg.kind,
      method: msg.method,
      status: msg.status,
      hasSdp,
      inDialog: ctx.inDialog,
      offer: offerState,
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

  #find(msg: SipMessage): Match | undefined {
    const list = this.#calls.get(msg.callId);
    if (list === undefined) return undefined;
    const fromTag = msg.fromTag ?? "";
    for (const session of list) {
      let requestSender: Party;
      if (session.fromTag === fromTag) requestSender = 0;
      else if (msg.toTag !== undefined && session.fromTag === msg.toTag) requestSender = 1;
      else continue;
      const sender = msg.kind === "request" ? requestSender : otherParty(requestSender);
      return { session, sender, requestSender };
    }
    return undefined;
  }

  #flagsOf(letters: string): MediaFlags {
    let flags = this.#flags.get(letters);
    if (flags === undefined) {
      flags = parseFlags(letters);
      if (flags.ignored.length > 0) {
        log.warn("rtp.flags.ignored {flags}: {ignored}", {
          flags: letters,
          ignored: flags.ignored,
        });
      }
      if (this.#flags.size < 256) this.#flags.set(letters, flags);
    }
    return flags;
  }

  #offer(ctx: MediaContext, match: Match | undefined): MediaOutcome {
    const msg = ctx.msg;
    const isRequest = msg.kind === "request";
    const flags = this.#flagsOf(ctx.flags);
    if (!isRequest && match === undefined && this.#passthrough.has(passKey(msg))) return NONE;
    const parsed = parseSdp(msg.body);
    if (!parsed.ok) {
      log.warn("rtp.sdp.invalid {callId} {method}: {message}", {
        callId: msg.callId,
        method: msg.method,
        message: parsed.error.message,
      });
      if (isRequest) this.#pass(msg);
      return isRequest ? NOT_ACCEPTABLE : NONE;
    }
    const sdp = parsed.value;
    if (sdp.nortpproxy && !flags.force) {
      log.info("rtp.sdp.marked {callId}: a=nortpproxy:yes, left unchanged", { callId: msg.callId });
      if (isRequest) this.#pass(msg);
      return NONE;
    }
    if (match === undefined && flags.lookupOnly) {
      if (isRequest) this.#pass(msg);
      return NONE;
    }
    let session: MediaSession;
    let sender: Party;
    let created = false;
    if (match === undefined) {
      sender = isRequest ? 0 : 1;
      const roles: [Role, Role] = sender === 0 ? [ctx.from, ctx.to] : [ctx.to, ctx.from];
      session = {
        callId: msg.callId,
        fromTag: msg.fromTag ?? "",
        toTags: new Set(),
        roles,
        streams: [],
        offer: undefined,
        confirmed: false,
        createdAt: this.#clock.now(),
      };
      if (msg.toTag !== undefined && !isRequest) session.toTags.add(msg.toTag);
      created = true;
    } else {
      session = match.session;
      sender = match.sender;
      const last = session.offer;
      // The same offer again in a 200 after a reliable 18x (RFC 3262 §5): rewrite, change nothing.
      if (
        !isRequest && last !== undefined && last.party === sender && !last.open &&
        last.originLine === sdp.originLine && sdp.originLine !== ""
      ) {
        return this.#render(session, sdp, otherParty(sender), flags);
      }
    }
    const receiver = otherParty(sender);

    // Allocate first, so running out of ports changes nothing.
    const fresh: number[] = [];
    for (const st of sdp.streams) {
      if (st.port === 0 || session.streams[st.index]?.legs !== undefined) continue;
      const legs = this.#openLegs(session.roles);
      if (typeof legs === "string") {
        for (const i of fresh) this.#closeStream(session.streams[i]!);
        for (const i of fresh) session.streams[i] = undefined;
        log.error("rtp.ports.exhausted {callId}: no free port pair for m= line {index}", {
          callId: msg.callId,
          index: st.index + 1,
        });
        if (isRequest) this.#pass(msg);
        return legs === "exhausted" ? EXHAUSTED : BIND_FAILED;
      }
      session.streams[st.index] = {
        index: st.index,
        type: st.type,
        legs,
        hold: st.hold,
        seen: 0,
        lastActive: this.#clock.now(),
      };
      fresh.push(st.index);
    }
    // Only now: a socket without a receive in flight closes at once, so a rollback above frees
    // its ports for the very next offer.
    for (const i of fresh) this.#startPumps(session.streams[i]!.legs!);
    if (created) this.#add(session);

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
      const leg = stream.legs[sender];
      leg.symmetric = !flags.asymmetric;
      const rtp = st.nullAddress ? null : udp(st.address, st.port);
      const rtcp = st.nullAddress ? null : udp(st.rtcpAddress, st.rtcpPort);
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
      party: sender,
      cseq: msg.cseq.seq,
      method: msg.method,
      originLine: sdp.originLine,
      open: true,
      created: fresh,
      disabled,
      holds,
    };
    if (ctx.to !== session.roles[receiver]) {
      log.warn("rtp.offer.side {callId}: sent to {to}, media leg is on {role}", {
        callId: msg.callId,
        to: ctx.to,
        role: session.roles[receiver],
      });
    }
    return this.#render(session, sdp, receiver, flags);
  }

  #answer(ctx: MediaContext, match: Match): MediaOutcome {
    const msg = ctx.msg;
    const { session, sender } = match;
    const offer = session.offer;
    if (offer === undefined) return NONE;
    const flags = this.#flagsOf(ctx.flags);
    const parsed = parseSdp(msg.body);
    if (!parsed.ok) {
      log.warn("rtp.sdp.invalid {callId} {method}: {message}", {
        callId: msg.callId,
        method: msg.method,
        message: parsed.error.message,
      });
      return NONE;
    }
    const sdp = parsed.value;
    if (sdp.nortpproxy && !flags.force) {
      log.info("rtp.sdp.marked {callId}: a=nortpproxy:yes, left unchanged", { callId: msg.callId });
      return NONE;
    }
    const offerer = offer.party;
    for (const st of sdp.streams) {
      const stream = session.streams[st.index];
      if (stream?.legs === undefined) continue;
      if (st.port === 0 || offer.disabled.includes(st.index)) {
        this.#closeStream(stream);
        continue;
      }
      const leg = stream.legs[sender];
      leg.symmetric = !flags.asymmetric;
      setPeer(
        leg,
        st.nullAddress ? null : udp(st.address, st.port),
        st.nullAddress ? null : udp(st.rtcpAddress, st.rtcpPort),
      );
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
      if (stream !== undefined && offer.created.includes(i)) this.#closeStream(stream);
    }
    offer.open = false;
    if (msg.kind === "request" && msg.method === "ACK") this.#confirm(session);
    return this.#render(session, sdp, offerer, flags);
  }

  #cancelOffer(session: MediaSession): void {
    const offer = session.offer;
    if (offer === undefined) return;
    for (const stream of session.streams) {
      const leg = stream?.legs?.[offer.party];
      if (leg !== undefined) leg.pendingRtp = leg.pendingRtcp = undefined;
    }
    for (const i of offer.created) {
      const stream = session.streams[i];
      if (stream !== undefined) this.#closeStream(stream);
    }
    session.offer = undefined;
    if (session.confirmed && !session.streams.some((s) => s?.legs !== undefined)) {
      this.#delete(session, "offer failed");
    }
  }

  /** The SDP for `to`: relay address of that party's side, and its legs' ports. */
  #render(session: MediaSession, sdp: Sdp, to: Party, flags: MediaFlags): MediaOutcome {
    const side = this.#sides[session.roles[to]];
    const ports: (number | undefined)[] = [];
    for (const st of sdp.streams) ports[st.index] = session.streams[st.index]?.legs?.[to].port;
    const body = rewriteSdp(sdp, {
      address: side.advertise ?? side.media,
      ports,
      sessionConnection: flags.sessionConnection,
      origin: flags.origin,
    });
    return { kind: "body", body };
  }

  #confirm(session: MediaSession): void {
    if (session.confirmed) return;
    session.confirmed = true;
    const now = this.#clock.now();
    for (const s of session.streams) if (s !== undefined) s.lastActive = now;
  }

  /** Remembers an INVITE left unproxied, so its 1xx/2xx SDP is not taken for an offer. */
  #pass(msg: SipMessage): void {
    if (msg.method !== "INVITE" || msg.kind !== "request") return;
    this.#passthrough.set(passKey(msg), this.#clock.now());
    this.#startSweep();
  }

  #openLegs(roles: readonly [Role, Role]): readonly [Leg, Leg] | "exhausted" | "failed" {
    const a = this.#openLeg(roles[0]);
    if (typeof a === "string") return a;
    const b = this.#openLeg(roles[1]);
    if (typeof b === "string") {
      this.#closeLeg(a);
      return b;
    }
    return [a, b];
  }

  #openLeg(role: Role): Leg | "exhausted" | "failed" {
    const hostname = this.#sides[role].media;
    const pool = this.#pools.get(hostname)!;
    for (;;) {
      const port = pool.allocate();
      if (port === undefined) return "exhausted";
      let rtp: RelaySocket | undefined;
      try {
        rtp = this.#sockets.bind(hostname, port);
        const rtcp = this.#sockets.bind(hostname, port + 1);
        return newLeg(role, port, rtp, rtcp);
      } catch (e) {
        rtp?.close(() => {});
        if (e instanceof Deno.errors.AddrInUse) {
          // Someone else holds it: never hand it out again, try the next pair.
          pool.markBad(port);
          log.warn("rtp.port.busy {hostname}:{port}: taken out of the pool", { hostname, port });
          continue;
        }
        pool.release(port);
        log.error("rtp.bind.failed {hostname}:{port}: {error}", { hostname, port, error: e });
        return "failed";
      }
    }
  }

  #startPumps(legs: readonly [Leg, Leg]): void {
    const [a, b] = legs;
    a.rtp.start(this.#route(a, b, false), b.rtp);
    a.rtcp.start(this.#route(a, b, true), b.rtcp);
    b.rtp.start(this.#route(b, a, false), a.rtp);
    b.rtcp.start(this.#route(b, a, true), a.rtcp);
  }

  /** Hot path: the decision for each datagram `from` sends, relayed towards `to`. */
  #route(from: Leg, to: Leg, rtcp: boolean): Route {
    const totals = this.#totals;
    return {
      forward: (source, bytes) => {
        if (from.symmetric) {
          const latched = rtcp ? from.latchedRtcp : from.latchedRtp;
          if (
            (latched === undefined || latched.port !== source.port ||
              latched.hostname !== source.hostname) && !this.#latch(from, source, rtcp, latched)
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
  #latch(
    leg: Leg,
    source: Deno.NetAddr,
    rtcp: boolean,
    latched: Deno.NetAddr | undefined,
  ): boolean {
    const now = this.#clock.now();
    if (latched !== undefined && now - leg.lastActive <= LATCH_SILENCE_MS) return false;
    if (rtcp) leg.latchedRtcp = source;
    else leg.latchedRtp = source;
    leg.lastActive = now;
    updateDest(leg);
    log.debug("rtp.latch {role}:{port} {kind} -> {hostname}:{sourcePort}", {
      role: leg.role,
      port: leg.port,
      kind: rtcp ? "rtcp" : "rtp",
      hostname: source.hostname,
      sourcePort: source.port,
    });
    return true;
  }

  #add(session: MediaSession): void {
    const list = this.#calls.get(session.callId);
    if (list === undefined) this.#calls.set(session.callId, [session]);
    else list.push(session);
    this.#startSweep();
  }

  #delete(session: MediaSession, why: string): void {
    for (const s of session.streams) if (s !== undefined) this.#closeStream(s);
    const list = this.#calls.get(session.callId);
    if (list !== undefined) {
      const i = list.indexOf(session);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.#calls.delete(session.callId);
    }
    log.debug("rtp.session.deleted {callId}: {why}", { callId: session.callId, why });
    if (this.#calls.size === 0 && this.#passthrough.size === 0) this.#stopSweep();
  }

  #closeStream(stream: Stream): void {
    const legs = stream.legs;
    if (legs === undefined) return;
    stream.legs = undefined;
    this.#closeLeg(legs[0]);
    this.#closeLeg(legs[1]);
  }

  #closeLeg(leg: Leg): void {
    if (leg.closed) return;
    leg.closed = true;
    // The pair goes back to the pool only once both sockets are unbound: a port handed out
    // earlier would make the next bind fail with AddrInUse.
    let bound = 2;
    const unbound = () => {
      if (--bound === 0) this.#release(leg);
    };
    leg.rtp.close(unbound);
    leg.rtcp.close(unbound);
  }

  #release(leg: Leg): void {
    this.#pools.get(this.#sides[leg.role].media)!.release(leg.port);
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
      if (now - at > this.#offerTimeoutMs) this.#passthrough.delete(key);
    }
    for (const list of [...this.#calls.values()]) {
      for (const session of [...list]) this.#sweepSession(session, now);
    }
    if (this.#calls.size > 0 || this.#passthrough.size > 0) this.#startSweep();
  }

  #sweepSession(session: MediaSession, now: number): void {
    if (!session.confirmed) {
      if (now - session.createdAt > this.#offerTimeoutMs) {
        log.info("rtp.session.timeout {callId}: no 2xx within {s} s", {
          callId: session.callId,
          s: this.#offerTimeoutMs / 1000,
        });
        this.#delete(session, "offer timeout");
      }
      // Packets may flow before the 2xx (early media): keep latch activity current.
      for (const s of session.streams) if (s?.legs) { for (const l of s.legs) touch(l, now); }
      return;
    }
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
      } else if (
        now - stream.lastActive > (stream.hold ? this.#holdTimeoutMs : this.#timeoutMs)
      ) {
        log.info("rtp.stream.timeout {callId} m={index} {type}: silent for {s} s", {
          callId: session.callId,
          index: stream.index + 1,
          type: stream.type,
          s: Math.round((now - stream.lastActive) / 1000),
        });
        this.#closeStream(stream);
        continue;
      }
      open++;
    }
    if (open === 0) this.#delete(session, "timeout");
  }
}

function passKey(msg: SipMessage): string {
  return `${msg.callId}\n${msg.fromTag ?? ""}\n${msg.cseq.seq}`;
}

/** The body is SDP: Content-Type application/sdp, or no Content-Type and a body starting v=. */
function isSdpBody(msg: SipMessage): boolean {
  if (msg.body.length === 0) return false;
  const type = msg.headers.find((h) => h.name === "content-type")?.value;
  if (type === undefined) return /^\s*v=/.test(msg.body);
  return /^application\/sdp\s*(;|$)/i.test(type);
}
