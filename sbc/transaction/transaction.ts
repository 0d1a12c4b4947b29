/**
 * Transaction types and matching (RFC 3261 §17). The state machines live in
 * transaction_server.ts and transaction_client.ts; this file holds what both share.
 */
import type { SipProto } from "../../config/config.ts";
import type { SipMessage } from "../message/sip_message.ts";

/** RFC 3261 §17 state names, plus Accepted from RFC 6026. */
export const TX_STATE = {
  calling: "calling",
  trying: "trying",
  proceeding: "proceeding",
  accepted: "accepted",
  completed: "completed",
  confirmed: "confirmed",
  terminated: "terminated",
} as const;
export type TxState = typeof TX_STATE[keyof typeof TX_STATE];

/** RFC 3261 §17.1.1.1 magic cookie: branches starting with it are unique per transaction. */
export const MAGIC_COOKIE = "z9hG4bK";

/**
 * The key a request matches its server transaction by (RFC 3261 §17.2.3): branch, sent-by and
 * method, where ACK matches the INVITE. Pre-3261 peers fall back to dialog and CSeq fields.
 */
export function serverKey(msg: SipMessage, method = msg.method): string {
  const via = msg.vias[0];
  const m = method === "ACK" ? "INVITE" : method;
  if (!via) return `?|${msg.callId}|${m}`;
  const sentBy = `${via.host}:${via.port ?? ""}`;
  if (via.branch?.startsWith(MAGIC_COOKIE)) return `${via.branch}|${sentBy}|${m}`;
  return `2543|${msg.callId}|${msg.cseq.seq}|${msg.fromTag ?? ""}|${sentBy}|${m}`;
}

/** The key a response matches its client transaction by (RFC 3261 §17.1.3). */
export function clientKey(branch: string, method: string): string {
  return `${branch}|${method === "ACK" ? "INVITE" : method}`;
}

/** Whether a transport is unreliable, so timers retransmit and absorb (RFC 3261 §17). */
export function isUnreliable(proto: SipProto): boolean {
  return proto === "udp";
}
