/**
 * What the media relay reads of a SIP message (rtp/relay_types.ts `MediaMessage`), taken from a
 * parsed message here, on the SIP side: reading headers such as Content-Type is SIP's job, so rtp/
 * knows SDP but not SIP.
 *
 * @module
 */

import type { MediaMessage } from "../../rtp/relay_types.ts";
import type { SipMessage } from "../message/message.ts";

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
