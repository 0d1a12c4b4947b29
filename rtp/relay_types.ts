/**
 * The relay's public types: its options (`RelayOptions`, one `MediaSide` per interface), what
 * `MediaRelay.manage()` takes and returns (`MediaContext`, `MediaOutcome`), and the two things the
 * relay needs from the SIP side, declared here so rtp/ never imports sbc/: the few facts of a SIP
 * message media management reads (`MediaMessage`) and a time source (`MediaClock`).
 *
 * @module
 */

import type { Cidr, Side, SrtpMode } from "../config/config.ts";
import type { BackendName } from "./packet/backend.ts";

/** The time source the relay arms its sweep on; the SBC passes its one timer wheel. */
export interface MediaClock {
  /** Milliseconds, monotonic enough for timeouts. */
  now(): number;
  setTimer(fn: () => void, ms: number): number;
  clearTimer(id: number): void;
}

/** What media management reads of a SIP request or response. */
export interface MediaMessage {
  readonly kind: "request" | "response";
  /** The request's method; for a response, the method of its CSeq. */
  readonly method: string;
  /** 0 for a request. */
  readonly status: number;
  readonly callId: string;
  readonly fromTag: string | undefined;
  readonly toTag: string | undefined;
  /** The CSeq number. */
  readonly cseq: number;
  /** The body when it is SDP (the SIP side reads Content-Type); undefined otherwise. */
  readonly sdp: string | undefined;
}

export interface MediaSide {
  /** Local address the RTP sockets for this side bind to (rtpproxy `-l`). */
  readonly media: string;
  /** Networks this side's media never goes to or comes from (outside: the inside's). */
  readonly refuse?: readonly Cidr[];
  /** Address written into SDP sent to this side (rtpproxy `-A`); undefined = `media`. */
  readonly advertise: string | undefined;
  /** SRTP at the relay for this side's parties (rtp/srtp_media.ts); default "off". */
  readonly srtp?: SrtpMode;
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
  /** Most m= lines in one SDP (an offer with more is refused); default 16. */
  readonly maxStreams?: number;
  /** Most unanswered offers per untrusted outside source; default 200. */
  readonly maxOffersPerSource?: number;
  /** Most media sessions per untrusted outside source; default 1000. */
  readonly maxSessionsPerSource?: number;
  readonly clock: MediaClock;
  /** Socket backend; default `ffi` when available (see rtp/packet/open_backend.ts), else `deno`. */
  readonly backend?: BackendName;
  /**
   * Called when an answered call's media went silent past the timeout, just before its session
   * is deleted (so `traffic(callId)` still counts it).
   */
  readonly onTimeout?: (callId: string) => void;
}

/** What a config reload may change in a running relay (`MediaRelay.reconfigure`). */
export interface RelayLiveOptions {
  readonly timeout: number;
  readonly holdTimeout: number;
  readonly offerTimeout: number;
  readonly maxStreams: number;
  readonly maxOffersPerSource: number;
  readonly maxSessionsPerSource: number;
  readonly srtp: { readonly external: SrtpMode; readonly internal: SrtpMode };
}

export interface MediaContext {
  /** The message as received (request or reply). */
  readonly msg: MediaMessage;
  /** Side it was received on. */
  readonly from: Side;
  /** Side it is being sent to. */
  readonly to: Side;
  /** SIP source address: the party's media may come from its host, and goes there (media_peer.ts). */
  readonly source: { readonly host: string; readonly port: number };
  /** The SIP source is trusted (`trusted`): its SDP address is used as written. */
  readonly trustedSource?: boolean;
  /** rtpproxy_manage letters in force for this message (see flags.ts). */
  readonly flags: string;
  /** The request had a To tag (for a reply: its request had one). */
  readonly inDialog: boolean;
}

export type MediaOutcome =
  | { readonly kind: "none" }
  | { readonly kind: "body"; readonly body: string }
  | { readonly kind: "reject"; readonly status: number; readonly reason: string };
