/**
 * The SIP message model (RFC 3261 §7) as the rest of the SBC sees it: the message parseMessage()
 * (message.ts) returns, its error codes, and the edits serializeMessage() (serialize.ts) applies.
 * Types and constants only.
 */

import type { Via } from "./header_codecs.ts";

/** One header field as received; `name` is the lowercase full name (compact forms expanded). */
export interface HeaderField {
  readonly name: string;
  /** Value with folding (RFC 3261 §7.3.1) replaced by one space, outer whitespace trimmed. */
  readonly value: string;
  /** Offsets of the whole header line in `raw`, including its CRLF (and any folded lines). */
  readonly start: number;
  readonly end: number;
}

/** A received message: the fields parseMessage() fills eagerly, over the text as received. */
export interface SipMessage {
  readonly kind: "request" | "response";
  /** Request method, or for a response the CSeq method. */
  readonly method: string;
  /** Request-URI as received; "" for responses. */
  readonly uri: string;
  /** Status code for responses; 0 for requests. */
  readonly status: number;
  readonly reason: string;
  readonly headers: readonly HeaderField[];
  readonly callId: string;
  readonly cseq: { readonly seq: number; readonly method: string };
  readonly fromTag: string | undefined;
  readonly toTag: string | undefined;
  /** All Via entries, top first (parsed eagerly: every message needs the top one). */
  readonly vias: readonly Via[];
  /** Max-Forwards value, or undefined when absent. */
  readonly maxForwards: number | undefined;
  /** Body text (latin1); "" when none. */
  readonly body: string;
  /** The message text exactly as received (latin1). */
  readonly raw: string;
}

export const PARSE_ERROR = {
  empty: "SIP_EMPTY",
  startLine: "SIP_BAD_START_LINE",
  header: "SIP_BAD_HEADER",
  missingHeader: "SIP_MISSING_HEADER",
  via: "SIP_BAD_VIA",
  cseq: "SIP_BAD_CSEQ",
  contentLength: "SIP_BAD_CONTENT_LENGTH",
  maxForwards: "SIP_BAD_MAX_FORWARDS",
  uri: "SIP_BAD_URI",
  tooLarge: "SIP_TOO_LARGE",
} as const;
export type ParseErrorCode = typeof PARSE_ERROR[keyof typeof PARSE_ERROR];

export interface ParseError {
  readonly code: ParseErrorCode;
  /** std style: `Cannot parse Via header "…": transport is unknown`. */
  readonly message: string;
  /**
   * A request whose start line and reply headers (Via, From, To, Call-ID, CSeq) were readable, so
   * the caller can answer 400 with `message` as the reason; undefined = drop the message.
   */
  readonly partial: SipMessage | undefined;
}

export type ParseResult =
  | { readonly ok: true; readonly value: SipMessage }
  | { readonly ok: false; readonly error: ParseError };

/** A change applied when the message is serialized; several may be combined, applied in order. */
export type Edit =
  | { readonly op: "set-uri"; readonly uri: string }
  /** Insert a header line above all existing ones of the same name (or at the top of the headers). */
  | { readonly op: "prepend"; readonly name: string; readonly value: string }
  /** Add a header line after the last header. */
  | { readonly op: "append"; readonly name: string; readonly value: string }
  /** Remove the first entry of a (possibly comma-joined) header: e.g. the first Route. */
  | { readonly op: "remove-first-value"; readonly name: string }
  /** Remove every line of this header. */
  | { readonly op: "remove-all"; readonly name: string }
  /** Replace the value of the header field at `index` in `msg.headers`. */
  | { readonly op: "replace"; readonly index: number; readonly value: string }
  /** Replace the body; Content-Length (and Content-Type when given) follow. */
  | { readonly op: "body"; readonly body: string; readonly contentType?: string };
