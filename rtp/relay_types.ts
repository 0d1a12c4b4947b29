/**
 * The relay's public types: its options (`RelayOptions`, one `MediaSide` per interface) and what
 * `MediaRelay.manage()` takes and returns (`MediaContext`, `MediaOutcome`). Importers get them
 * from rtp/relay.ts, which re-exports them.
 *
 * @module
 */

import type { Role } from "../config/config.ts";
import type { Clock } from "../sbc/transaction/clock.ts";
import type { SipMessage } from "../sbc/message/message.ts";
import type { BackendName } from "./packet/backend.ts";

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
  /**
   * Called when an answered call's media went silent past the timeout, just before its session
   * is deleted (so `traffic(callId)` still counts it).
   */
  readonly onTimeout?: (callId: string) => void;
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
