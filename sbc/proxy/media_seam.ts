/**
 * The seam between the proxy and the media relay: the one door every request and answer takes
 * into the relay (`applyMedia`), and what the relay reads of a SIP message (rtp/relay_types.ts
 * `MediaMessage`), taken from the parsed message here, on the SIP side: reading headers such as
 * Content-Type is SIP's job, so rtp/ knows SDP but not SIP.
 *
 * @module
 */

import type { Side } from "../../config/config.ts";
import type { MediaMessage, MediaOutcome } from "../../rtp/relay_types.ts";
import type { SipMessage } from "../message/sip_message.ts";
import type { Peer } from "../transport/peer.ts";
import type { MediaHooks } from "./context.ts";

/** A message on its way through the media relay: which sides, from where, with which flags. */
export interface MediaLeg {
  readonly from: Side;
  readonly to: Side;
  readonly source: Peer;
  /** The source is in the sending side's `trusted` networks: its SDP address is used as is. */
  readonly trustedSource?: boolean;
  readonly flags: string;
  /** The request had a To tag (for an answer: its request had one). */
  readonly inDialog: boolean;
  /** The call's Call-ID when the message shows another one (topology hiding outside). */
  readonly callId?: string;
  /**
   * Topology hiding on the side it goes to: every address in the SDP is ours, the session-level
   * `c=` and `o=` too (flags `c` and `o`).
   */
  readonly hideAddresses?: boolean;
}

const NONE: MediaOutcome = { kind: "none" };

/** Hands one message to the relay (rtpproxy_manage); nothing happens without a relay. */
export function applyMedia(
  media: MediaHooks | undefined,
  msg: SipMessage,
  leg: MediaLeg,
): MediaOutcome {
  if (!media) return NONE;
  const { callId, hideAddresses, ...rest } = leg;
  const facts = mediaMessage(msg);
  return media.manage({
    ...rest,
    msg: callId === undefined ? facts : { ...facts, callId },
    flags: hideAddresses ? `${leg.flags}co` : leg.flags,
  });
}

/** The facts of `msg` that media management decides on. */
export function mediaMessage(msg: SipMessage): MediaMessage {
  return {
    kind: msg.kind,
    method: msg.method,
    status: msg.status,
    callId: msg.callId,
    fromTag: msg.fromTag,
    toTag: msg.toTag,
    cseq: msg.cseq.seq,
    sdp: isSdpBody(msg) ? msg.body : undefined,
  };
}

/** The body is SDP: Content-Type application/sdp, or no Content-Type and a body starting v=. */
export function isSdpBody(msg: SipMessage): boolean {
  if (msg.body.length === 0) return false;
  const type = msg.headers.find((h) => h.name === "content-type")?.value;
  if (type === undefined) return /^\s*v=/.test(msg.body);
  return /^application\/sdp\s*(;|$)/i.test(type);
}
