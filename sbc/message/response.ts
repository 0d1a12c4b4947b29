/**
 * Responses the SBC generates itself (RFC 3261 §8.2.6), built from the request as received.
 */

import type { SipMessage } from "./sip_message.ts";

/** Reason phrases for the status codes edgesbc sends on its own (RFC 3261 §21). */
export const SIP_STATUS_TEXT = {
  100: "Trying",
  200: "OK",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  408: "Request Timeout",
  416: "Unsupported URI Scheme",
  420: "Bad Extension",
  481: "Call/Transaction Does Not Exist",
  482: "Loop Detected",
  483: "Too Many Hops",
  486: "Busy Here",
  487: "Request Terminated",
  488: "Not Acceptable Here",
  500: "Server Internal Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Server Time-out",
  513: "Message Too Large",
} as const;
export type SipStatus = keyof typeof SIP_STATUS_TEXT;

/** The standard reason phrase of a status code edgesbc sends (RFC 3261 §21). */
export function reasonPhrase(status: SipStatus): string {
  return SIP_STATUS_TEXT[status];
}

/**
 * The To tag of answers sent without a transaction (a malformed request, a stray ACK's route):
 * one fixed tag ("es" for edgesbc) so retransmissions of the same request are answered alike.
 */
export const STATELESS_TO_TAG = "es0";

/** An answer sent without a transaction; every answer but 100 carries a To tag (§8.2.6.2). */
export function statelessResponse(req: SipMessage, status: number, reason: string): string {
  return buildResponse(req, status, reason, status > 100 ? { toTag: STATELESS_TO_TAG } : {});
}

/** Options for buildResponse(). */
export interface ResponseOptions {
  /** Added to To when the request's To has no tag (RFC 3261 §8.2.6.2). */
  readonly toTag?: string;
  /** Extra header lines, written after CSeq in this order. */
  readonly headers?: readonly (readonly [string, string])[];
  readonly body?: string;
  /** Content-Type of `body`; written only with a body. */
  readonly contentType?: string;
}

/** CR or LF in a value would end the line early and let the peer inject headers. */
function oneLine(value: string): string {
  return value.replace(/[\r\n]+/g, " ");
}

/**
 * Builds a response to `req`: Via lines, From, To, Call-ID and CSeq copied as received
 * (RFC 3261 §8.2.6.2), then `opts.headers`, then Content-Length.
 */
export function buildResponse(
  req: SipMessage,
  status: number,
  reason: string,
  opts: ResponseOptions = {},
): string {
  let via = "";
  let from = "";
  let to = "";
  let callId = "";
  let cseq = "";
  for (const h of req.headers) {
    switch (h.name) {
      case "via":
        via += `Via: ${h.value}\r\n`;
        break;
      case "from":
        if (from === "") from = `From: ${h.value}\r\n`;
        break;
      case "to":
        if (to === "") {
          const tag = opts.toTag !== undefined && req.toTag === undefined
            ? `;tag=${oneLine(opts.toTag)}`
            : "";
          to = `To: ${h.value}${tag}\r\n`;
        }
        break;
      case "call-id":
        if (callId === "") callId = `Call-ID: ${h.value}\r\n`;
        break;
      case "cseq":
        if (cseq === "") cseq = `CSeq: ${h.value}\r\n`;
        break;
    }
  }
  let out = `SIP/2.0 ${status} ${oneLine(reason)}\r\n${via}${from}${to}${callId}${cseq}`;
  for (const [name, value] of opts.headers ?? []) out += `${oneLine(name)}: ${oneLine(value)}\r\n`;
  const body = opts.body ?? "";
  if (body !== "" && opts.contentType !== undefined) {
    out += `Content-Type: ${oneLine(opts.contentType)}\r\n`;
  }
  return `${out}Content-Length: ${body.length}\r\n\r\n${body}`;
}
