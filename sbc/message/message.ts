/**
 * SIP message model (RFC 3261 §7): parsed once, lazily, over the received text.
 *
 * The text is kept as a latin1 string (one char = one byte) so Content-Length and byte offsets agree
 * with the wire. Header values are parsed on first use; edits are patches applied at serialization
 * (Kamailio's "lumps"), so forwarding never rebuilds what it did not touch.
 */

import { Buffer } from "node:buffer";
import {
  headerKey,
  isToken,
  isUnsplit,
  parseNameAddr,
  parseVia,
  splitValues,
  type Via,
} from "./header_codecs.ts";

/** One header field as received; `name` is the lowercase full name (compact forms expanded). */
export interface HeaderField {
  readonly name: string;
  /** Value with folding (RFC 3261 §7.3.1) replaced by one space, outer whitespace trimmed. */
  readonly value: string;
  /** Offsets of the whole header line in `raw`, including its CRLF (and any folded lines). */
  readonly start: number;
  readonly end: number;
}

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

/** Largest message accepted, in bytes (the proxy answers 513 above it when it can, RFC 3261 §18.1.1). */
export const MAX_MESSAGE_SIZE = 65536;

type Problem = { readonly code: ParseErrorCode; readonly message: string };

interface StartLine {
  readonly kind: "request" | "response";
  readonly method: string;
  readonly uri: string;
  readonly status: number;
  readonly reason: string;
  readonly problem: Problem | undefined;
  /** False when the line is not a recognisable request: nothing can be answered. */
  readonly answerable: boolean;
}

const REQUEST_URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$/;
const STATUS_LINE = /^SIP\/2\.0[ \t]+(\d{3})(?:[ \t]+(.*))?$/i;
const SIP_VERSION = /^SIP\/\d+\.\d+$/i;
const DIGITS = /^\d+$/;

/** Quotes a received value for an error message; it may become a reason phrase, so no controls. */
function q(value: string): string {
  const v = value.length > 60 ? value.slice(0, 60) + "..." : value;
  // deno-lint-ignore no-control-regex
  return `"${v.replace(/[\x00-\x1f\x7f]/g, "?").replaceAll('"', "'")}"`;
}

function badStart(line: string, detail: string): StartLine {
  return {
    kind: "request",
    method: "",
    uri: "",
    status: 0,
    reason: "",
    problem: {
      code: PARSE_ERROR.startLine,
      message: `Cannot parse start line ${q(line)}: ${detail}`,
    },
    answerable: false,
  };
}

function parseStartLine(line: string): StartLine {
  if (line.length >= 4 && line.slice(0, 4).toUpperCase() === "SIP/") {
    const m = STATUS_LINE.exec(line);
    if (m === null) return badStart(line, 'expected "SIP/2.0 code reason"');
    const status = Number(m[1]);
    if (status < 100) return badStart(line, "status code is out of range");
    return {
      kind: "response",
      method: "",
      uri: "",
      status,
      reason: (m[2] ?? "").trim(),
      problem: undefined,
      answerable: false,
    };
  }
  // RFC 3261 §7.1 wants single SPs; tolerate runs of LWS, as most stacks do.
  const parts = line.trim().split(/[ \t]+/);
  if (parts.length < 3) return badStart(line, 'expected "METHOD Request-URI SIP/2.0"');
  const method = parts[0]!;
  const version = parts[parts.length - 1]!;
  if (!isToken(method)) return badStart(line, "method is not a token");
  if (!SIP_VERSION.test(version)) return badStart(line, 'expected "METHOD Request-URI SIP/2.0"');
  const uri = parts.length === 3 ? parts[1]! : parts.slice(1, -1).join(" ");
  let problem: Problem | undefined;
  if (version.toUpperCase() !== "SIP/2.0") {
    problem = {
      code: PARSE_ERROR.startLine,
      message: `Cannot parse start line ${q(line)}: version ${q(version)} is not supported`,
    };
  } else if (parts.length > 3) {
    problem = {
      code: PARSE_ERROR.uri,
      message: `Cannot parse Request-URI ${q(uri)}: it contains whitespace`,
    };
  } else if (!REQUEST_URI.test(uri)) {
    problem = {
      code: PARSE_ERROR.uri,
      message: `Cannot parse Request-URI ${q(uri)}: it does not start with a scheme`,
    };
  }
  return { kind: "request", method, uri, status: 0, reason: "", problem, answerable: true };
}

/** Received header name → lowercase full name; bounded, since names come from the network. */
const keyCache = new Map<string, string>();

function keyOf(rawName: string): string | undefined {
  let key = keyCache.get(rawName);
  if (key === undefined) {
    if (!isToken(rawName)) return undefined;
    key = headerKey(rawName);
    if (keyCache.size < 1024) keyCache.set(rawName, key);
  }
  return key;
}

function isLws(c: number): boolean {
  return c === 32 || c === 9;
}

/**
 * Parses one SIP message (RFC 3261 §7) from a datagram or a framed stream message. Never throws:
 * bad input is an error value, with `partial` set when a 400 can still be built.
 */
export function parseMessage(data: Uint8Array | string): ParseResult {
  const size = typeof data === "string" ? data.length : data.byteLength;
  if (size > MAX_MESSAGE_SIZE) {
    return fail(
      PARSE_ERROR.tooLarge,
      `Cannot parse message of ${size} bytes: larger than ${MAX_MESSAGE_SIZE} bytes`,
    );
  }
  let text = typeof data === "string"
    ? data
    : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("latin1");
  // RFC 3261 §7.5: CRLFs before the start line are ignored.
  let skip = 0;
  while (skip < text.length && (text.charCodeAt(skip) === 13 || text.charCodeAt(skip) === 10)) {
    skip++;
  }
  if (skip > 0) text = text.slice(skip);
  const n = text.length;
  if (n === 0) return fail(PARSE_ERROR.empty, "Cannot parse message: it is empty");

  let nl = text.indexOf("\n");
  let lineEnd = nl < 0 ? n : nl;
  if (lineEnd > 0 && text.charCodeAt(lineEnd - 1) === 13) lineEnd--;
  const start = parseStartLine(text.slice(0, lineEnd));
  if (!start.answerable && start.problem !== undefined) {
    return fail(start.problem.code, start.problem.message);
  }
  let problem = start.problem;

  const headers: HeaderField[] = [];
  const viaValues: string[] = [];
  const lengths: string[] = [];
  let from: string | undefined;
  let to: string | undefined;
  let callId: string | undefined;
  let cseqValue: string | undefined;
  let maxForwardsValue: string | undefined;
  let duplicate: string | undefined;
  let bodyStart = n;
  let pos = nl < 0 ? n : nl + 1;
  while (pos < n) {
    nl = text.indexOf("\n", pos);
    let next = nl < 0 ? n : nl + 1;
    let end = nl < 0 ? n : nl;
    if (end > pos && text.charCodeAt(end - 1) === 13) end--;
    if (end === pos) {
      bodyStart = next;
      break;
    }
    const colon = text.indexOf(":", pos);
    let name: string | undefined;
    let value = "";
    if (colon >= 0 && colon < end) {
      let nameEnd = colon;
      while (nameEnd > pos && isLws(text.charCodeAt(nameEnd - 1))) nameEnd--;
      name = keyOf(text.slice(pos, nameEnd));
      let vs = colon + 1;
      while (vs < end && isLws(text.charCodeAt(vs))) vs++;
      let ve = end;
      while (ve > vs && isLws(text.charCodeAt(ve - 1))) ve--;
      value = text.slice(vs, ve);
    }
    // RFC 3261 §7.3.1: a line starting with SP or HT continues the previous one.
    while (next < n && isLws(text.charCodeAt(next))) {
      nl = text.indexOf("\n", next);
      let e = nl < 0 ? n : nl;
      if (e > next && text.charCodeAt(e - 1) === 13) e--;
      const more = text.slice(next, e).trim();
      if (more !== "") value = value === "" ? more : value + " " + more;
      next = nl < 0 ? n : nl + 1;
    }
    if (name === undefined) {
      problem ??= {
        code: PARSE_ERROR.header,
        message: `Cannot parse header line ${q(text.slice(pos, end))}: expected "name: value"`,
      };
      pos = next;
      continue;
    }
    headers.push({ name, value, start: pos, end: next });
    switch (name) {
      case "via":
        viaValues.push(value);
        break;
      case "from":
        if (from !== undefined) duplicate ??= "From";
        from ??= value;
        break;
      case "to":
        if (to !== undefined) duplicate ??= "To";
        to ??= value;
        break;
      case "call-id":
        if (callId !== undefined) duplicate ??= "Call-ID";
        callId ??= value;
        break;
      case "cseq":
        if (cseqValue !== undefined) duplicate ??= "CSeq";
        cseqValue ??= value;
        break;
      case "max-forwards":
        if (maxForwardsValue !== undefined) duplicate ??= "Max-Forwards";
        maxForwardsValue ??= value;
        break;
      case "content-length":
        lengths.push(value);
        break;
    }
    pos = next;
  }

  // Mandatory headers, RFC 3261 §8.1.1 (and §20 for responses).
  const missing = viaValues.length === 0
    ? "Via"
    : from === undefined
    ? "From"
    : to === undefined
    ? "To"
    : callId === undefined
    ? "Call-ID"
    : cseqValue === undefined
    ? "CSeq"
    : undefined;
  if (missing !== undefined) {
    problem ??= {
      code: PARSE_ERROR.missingHeader,
      message: `Cannot parse message: ${missing} header is missing`,
    };
  }
  if (duplicate !== undefined) {
    problem ??= {
      code: PARSE_ERROR.header,
      message: `Cannot parse ${duplicate} header: it appears more than once`,
    };
  }

  let vias: Via[] = [];
  for (const v of viaValues) {
    const parsed = parseVia(v);
    if (parsed.length === 0) {
      problem ??= {
        code: PARSE_ERROR.via,
        message: `Cannot parse Via header ${q(v)}: sent-protocol or sent-by is malformed`,
      };
      vias = [];
      break;
    }
    for (const via of parsed) vias.push(via);
  }

  let fromTag: string | undefined;
  if (from !== undefined) {
    const na = parseNameAddr(from);
    if (na === undefined) {
      problem ??= {
        code: PARSE_ERROR.header,
        message: `Cannot parse From header ${q(from)}: name-addr is malformed`,
      };
    } else fromTag = na.params.tag;
  }
  let toTag: string | undefined;
  if (to !== undefined) {
    const na = parseNameAddr(to);
    if (na === undefined) {
      problem ??= {
        code: PARSE_ERROR.header,
        message: `Cannot parse To header ${q(to)}: name-addr is malformed`,
      };
    } else toTag = na.params.tag;
  }
  if (callId === "") {
    problem ??= {
      code: PARSE_ERROR.header,
      message: `Cannot parse Call-ID header "": it is empty`,
    };
  }

  let cseq = { seq: 0, method: start.method };
  if (cseqValue !== undefined) {
    const parsed = parseCSeq(cseqValue);
    if (typeof parsed === "string") {
      problem ??= {
        code: PARSE_ERROR.cseq,
        message: `Cannot parse CSeq header ${q(cseqValue)}: ${parsed}`,
      };
    } else {
      cseq = parsed;
      if (start.kind === "request" && parsed.method !== start.method) {
        problem ??= {
          code: PARSE_ERROR.cseq,
          message: `Cannot parse CSeq header ${
            q(cseqValue)
          }: method does not match request method ${q(start.method)}`,
        };
      }
    }
  }

  let maxForwards: number | undefined;
  if (maxForwardsValue !== undefined) {
    if (DIGITS.test(maxForwardsValue) && maxForwardsValue.length <= 10) {
      maxForwards = Number(maxForwardsValue);
    }
    if (maxForwards === undefined || maxForwards > 255) {
      maxForwards = undefined;
      problem ??= {
        code: PARSE_ERROR.maxForwards,
        message: `Cannot parse Max-Forwards header ${
          q(maxForwardsValue)
        }: value is not an integer in 0..255`,
      };
    }
  }

  // RFC 3261 §18.3: Content-Length bounds the body; octets after it in a datagram are dropped.
  let messageEnd = n;
  for (const v of lengths) {
    if (!DIGITS.test(v) || v.length > 10) {
      problem ??= {
        code: PARSE_ERROR.contentLength,
        message: `Cannot parse Content-Length header ${q(v)}: value is not a non-negative integer`,
      };
    } else if (Number(v) !== Number(lengths[0])) {
      problem ??= {
        code: PARSE_ERROR.contentLength,
        message: `Cannot parse Content-Length header ${q(v)}: it conflicts with ${q(lengths[0]!)}`,
      };
    }
  }
  if (lengths.length > 0 && problem?.code !== PARSE_ERROR.contentLength) {
    const length = Number(lengths[0]);
    if (bodyStart + length > n) {
      problem ??= {
        code: PARSE_ERROR.contentLength,
        message: `Cannot parse Content-Length header ${q(lengths[0]!)}: only ${
          n - bodyStart
        } bytes of body are available`,
      };
    } else messageEnd = bodyStart + length;
  }

  const msg: SipMessage = {
    kind: start.kind,
    method: start.kind === "request" ? start.method : cseq.method,
    uri: start.uri,
    status: start.status,
    reason: start.reason,
    headers,
    callId: callId ?? "",
    cseq,
    fromTag,
    toTag,
    vias,
    maxForwards,
    body: bodyStart < messageEnd ? text.slice(bodyStart, messageEnd) : "",
    raw: messageEnd < n ? text.slice(0, messageEnd) : text,
  };
  if (problem === undefined) return { ok: true, value: msg };
  const answerable = start.kind === "request" && missing === undefined && vias.length > 0;
  return fail(problem.code, problem.message, answerable ? msg : undefined);
}

function fail(code: ParseErrorCode, message: string, partial?: SipMessage): ParseResult {
  return { ok: false, error: { code, message, partial } };
}

/** CSeq = 1*DIGIT LWS Method (RFC 3261 §20.16); the number must fit in 32 bits. */
function parseCSeq(value: string): { seq: number; method: string } | string {
  let i = 0;
  while (i < value.length && value.charCodeAt(i) >= 48 && value.charCodeAt(i) <= 57) i++;
  if (i === 0) return "sequence number is not a number";
  const seq = Number(value.slice(0, i));
  if (i > 10 || seq > 0xffffffff) return "sequence number is larger than 2**32-1";
  const method = value.slice(i).trim();
  if (i === value.length || !isLws(value.charCodeAt(i)) || !isToken(method)) {
    return "method is missing or not a token";
  }
  return { seq, method };
}

/** Value of the first line of a header (`name` in any case, compact or full), or undefined. */
export function getHeader(msg: SipMessage, name: string): string | undefined {
  const key = headerKey(name);
  for (const h of msg.headers) if (h.name === key) return h.value;
  return undefined;
}

const valuesCache = new WeakMap<SipMessage, Map<string, readonly string[]>>();

/**
 * All comma-separated entries of a header across its lines, in order (RFC 3261 §7.3.1). Headers
 * whose values hold literal commas (Date, Authorization, ...) yield one entry per line.
 */
export function getHeaderValues(msg: SipMessage, name: string): string[] {
  const key = headerKey(name);
  let cache = valuesCache.get(msg);
  const cached = cache?.get(key);
  if (cached !== undefined) return cached.slice();
  const out: string[] = [];
  const whole = isUnsplit(key);
  for (const h of msg.headers) {
    if (h.name !== key) continue;
    if (whole) out.push(h.value);
    else for (const v of splitValues(h.value)) out.push(v);
  }
  if (cache === undefined) valuesCache.set(msg, cache = new Map());
  cache.set(key, out);
  return out.slice();
}
