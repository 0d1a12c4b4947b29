/**
 * parseMessage(): one SIP message (RFC 3261 §7) read in one pass over the received text, and
 * getHeader()/getHeaderValues() over the result.
 *
 * Eager, at parse time: the start line, the header lines (folding undone, compact names expanded),
 * every Via entry, the From and To tags, Call-ID, CSeq, Max-Forwards, and Content-Length, which
 * frames the body. Checked in a request, not kept: each Contact, Route and Record-Route entry is a
 * name-addr (_name_addr_lists.ts). Lazy: every other header stays as received text in `headers`;
 * getHeaderValues() splits one into entries on first use and caches them per message, and parsing
 * those entries (Contact, Route, ...) is left to the caller (header_codecs.ts).
 *
 * The text is kept as a latin1 string (one char = one byte) so Content-Length and byte offsets agree
 * with the wire. Edits are patches applied at serialization (Kamailio's "lumps", serialize.ts), so
 * forwarding never rebuilds what it did not touch.
 */

import { Buffer } from "node:buffer";
import { headerKey, isToken, isUnsplit, parseVia, splitValues, type Via } from "./header_codecs.ts";
import {
  type HeaderField,
  PARSE_ERROR,
  type ParseErrorCode,
  type ParseResult,
  type SipMessage,
} from "./sip_message.ts";
import { type Problem, quote } from "./_parse_problem.ts";
import { parseStartLine, type StartLine } from "./_start_line.ts";
import { fillSingle, SINGLE_HEADER_INDEX, SINGLE_HEADERS } from "./_single_headers.ts";
import { NAME_ADDR_LISTS, nameAddrListProblem } from "./_name_addr_lists.ts";

/**
 * Largest message parseMessage() accepts, in bytes. A larger one is a SIP_TOO_LARGE error with
 * `partial: undefined`, so the proxy drops it unanswered (logged, counted in parseErrors): nothing
 * sends 513 Message Too Large (RFC 3261 §21.5.13).
 */
export const MAX_MESSAGE_SIZE = 65536;

/**
 * Parses one SIP message (RFC 3261 §7) from a datagram or a framed stream message. Never throws:
 * bad input is an error value, with `partial` set when a 400 can still be built. When several
 * things are wrong, the first one found, in the order of the steps below, is reported.
 */
export function parseMessage(data: Uint8Array | string): ParseResult {
  const size = typeof data === "string" ? data.length : data.byteLength;
  if (size > MAX_MESSAGE_SIZE) {
    return fail(
      PARSE_ERROR.tooLarge,
      `Cannot parse message of ${size} bytes: larger than ${MAX_MESSAGE_SIZE} bytes`,
    );
  }
  const text = receivedText(data);
  if (text.length === 0) return fail(PARSE_ERROR.empty, "Cannot parse message: it is empty");
  const nl = text.indexOf("\n");
  const start = parseStartLine(text.slice(0, lineEnd(text, 0, nl)));
  if (!start.answerable && start.problem !== undefined) {
    return fail(start.problem.code, start.problem.message);
  }
  const scan = scanHeaders(text, nl < 0 ? text.length : nl + 1, start.problem);
  const missing = checkPresence(scan);
  const msg = draftMessage(start, scan, text);
  readSingleHeaders(msg, scan, start);
  if (start.kind === "request") checkNameAddrLists(scan, start.method);
  if (msg.kind === "response") msg.method = msg.cseq.method; // a response's method is its CSeq's
  frameBody(msg, scan, text);
  if (scan.problem === undefined) return { ok: true, value: msg };
  const answerable = start.kind === "request" && missing === undefined && msg.vias.length > 0;
  return fail(scan.problem.code, scan.problem.message, answerable ? msg : undefined);
}

/** The message while parseMessage() fills it in. */
type MessageDraft = { -readonly [K in keyof SipMessage]: SipMessage[K] };

/** The message as a latin1 string, without the CRLFs RFC 3261 §7.5 allows before the start line. */
function receivedText(data: Uint8Array | string): string {
  const text = typeof data === "string"
    ? data
    : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("latin1");
  let skip = 0;
  while (skip < text.length && (text.charCodeAt(skip) === 13 || text.charCodeAt(skip) === 10)) {
    skip++;
  }
  return skip > 0 ? text.slice(skip) : text;
}

/** End of the line starting at `pos` whose LF is at `nl` (-1: none), without its CR. */
function lineEnd(text: string, pos: number, nl: number): number {
  const end = nl < 0 ? text.length : nl;
  return end > pos && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
}

// Header lines (RFC 3261 §7.3).

/** What the header lines hold, before any value is parsed, and the first problem found so far. */
interface HeaderScan {
  readonly headers: HeaderField[];
  /** The value of each Via line, top first. */
  readonly vias: string[];
  /** The value of each Content-Length line, in order. */
  readonly lengths: string[];
  /** The first value of each SINGLE_HEADERS row, by row index. */
  readonly singles: (string | undefined)[];
  /** Each Contact, Route and Record-Route line (NAME_ADDR_LISTS), in order. */
  readonly lists: HeaderField[];
  /** Label of the first single header seen twice. */
  duplicate: string | undefined;
  /** Where the body starts: after the empty line, or at the end when there is none. */
  bodyStart: number;
  /** The one reported: later steps keep it (`??=`) rather than replace it. */
  problem: Problem | undefined;
}

/** `singles` before any line is read, copied per message (a packed array, cheaper to fill). */
const NO_SINGLES: readonly (string | undefined)[] = SINGLE_HEADERS.map(() => undefined);

/** Reads the header lines from `pos` up to the empty line that ends them. */
function scanHeaders(text: string, pos: number, problem: Problem | undefined): HeaderScan {
  const n = text.length;
  const scan: HeaderScan = {
    headers: [],
    vias: [],
    lengths: [],
    singles: NO_SINGLES.slice(),
    lists: [],
    duplicate: undefined,
    bodyStart: n,
    problem,
  };
  while (pos < n) {
    const nl = text.indexOf("\n", pos);
    const end = lineEnd(text, pos, nl);
    const next = nl < 0 ? n : nl + 1;
    if (end === pos) {
      scan.bodyStart = next;
      break;
    }
    pos = readHeaderLine(scan, text, pos, end, next);
  }
  return scan;
}

/**
 * Reads the header line at `pos` (its text ends at `end`, the next line starts at `next`) and the
 * lines folded onto it; returns where the next header line starts.
 */
function readHeaderLine(
  scan: HeaderScan,
  text: string,
  pos: number,
  end: number,
  next: number,
): number {
  const colon = text.indexOf(":", pos);
  let name: HeaderName | undefined;
  let value = "";
  if (colon >= 0 && colon < end) {
    let nameEnd = colon;
    while (nameEnd > pos && isLws(text.charCodeAt(nameEnd - 1))) nameEnd--;
    name = nameOf(text.slice(pos, nameEnd));
    let vs = colon + 1;
    while (vs < end && isLws(text.charCodeAt(vs))) vs++;
    let ve = end;
    while (ve > vs && isLws(text.charCodeAt(ve - 1))) ve--;
    value = text.slice(vs, ve);
  }
  // RFC 3261 §7.3.1: a line starting with SP or HT continues the previous one.
  if (next < text.length && isLws(text.charCodeAt(next))) {
    const folded = unfold(text, next, value);
    value = folded.value;
    next = folded.next;
  }
  if (name === undefined) {
    const line = quote(text.slice(pos, end));
    report(scan, PARSE_ERROR.header, `Cannot parse header line ${line}: expected "name: value"`);
  } else {
    const field = { name: name.key, value, start: pos, end: next };
    scan.headers.push(field);
    collect(scan, name, field);
  }
  return next;
}

/** Appends the continuation lines starting at `next` to `value`, one space between each. */
function unfold(text: string, next: number, value: string): { value: string; next: number } {
  const n = text.length;
  while (next < n && isLws(text.charCodeAt(next))) {
    const nl = text.indexOf("\n", next);
    const more = text.slice(next, lineEnd(text, next, nl)).trim();
    if (more !== "") value = value === "" ? more : value + " " + more;
    next = nl < 0 ? n : nl + 1;
  }
  return { value, next };
}

/** A received header name, resolved once per spelling. */
interface HeaderName {
  /** Lowercase full name (compact forms expanded), as in `HeaderField.name`. */
  readonly key: string;
  /** Index of its SINGLE_HEADERS row, or -1. */
  readonly single: number;
  /** A NAME_ADDR_LISTS header. */
  readonly list: boolean;
}

/** Received header name → what it names; bounded, since names come from the network. */
const nameCache = new Map<string, HeaderName>();

function nameOf(rawName: string): HeaderName | undefined {
  let name = nameCache.get(rawName);
  if (name === undefined) {
    if (!isToken(rawName)) return undefined;
    const key = headerKey(rawName);
    name = { key, single: SINGLE_HEADER_INDEX.get(key) ?? -1, list: NAME_ADDR_LISTS.has(key) };
    if (nameCache.size < 1024) nameCache.set(rawName, name);
  }
  return name;
}

function isLws(c: number): boolean {
  return c === 32 || c === 9;
}

/**
 * Keeps the values parsed eagerly: every Via and Content-Length, the first of a single header; and
 * the lines checked in a request (NAME_ADDR_LISTS).
 */
function collect(scan: HeaderScan, name: HeaderName, field: HeaderField): void {
  const row = name.single;
  const value = field.value;
  if (row >= 0) {
    if (scan.singles[row] === undefined) scan.singles[row] = value;
    else scan.duplicate ??= SINGLE_HEADERS[row]!.label;
  } else if (name.key === "via") scan.vias.push(value);
  else if (name.key === "content-length") scan.lengths.push(value);
  else if (name.list) scan.lists.push(field);
}

// What the header lines hold: presence (RFC 3261 §8.1.1), Via, and the SINGLE_HEADERS table.

/** Reports a missing mandatory header (Via first), then a repeated one; returns the missing one. */
function checkPresence(scan: HeaderScan): string | undefined {
  let missing = scan.vias.length === 0 ? "Via" : undefined;
  for (let i = 0; i < SINGLE_HEADERS.length && missing === undefined; i++) {
    const row = SINGLE_HEADERS[i]!;
    if (row.mandatory && scan.singles[i] === undefined) missing = row.label;
  }
  if (missing !== undefined) {
    report(scan, PARSE_ERROR.missingHeader, `Cannot parse message: ${missing} header is missing`);
  }
  if (scan.duplicate !== undefined) {
    const message = `Cannot parse ${scan.duplicate} header: it appears more than once`;
    report(scan, PARSE_ERROR.header, message);
  }
  return missing;
}

/** The message with its Via entries parsed; the single headers and the body come next. */
function draftMessage(start: StartLine, scan: HeaderScan, text: string): MessageDraft {
  return {
    kind: start.kind,
    method: start.method,
    uri: start.uri,
    status: start.status,
    reason: start.reason,
    headers: scan.headers,
    callId: "",
    cseq: { seq: 0, method: start.method },
    fromTag: undefined,
    toTag: undefined,
    vias: parseVias(scan),
    maxForwards: undefined,
    body: "",
    raw: text,
  };
}

/** Every Via entry, top first; none when one line is malformed. */
function parseVias(scan: HeaderScan): Via[] {
  const vias: Via[] = [];
  for (const v of scan.vias) {
    const parsed = parseVia(v);
    if (parsed.length === 0) {
      const message = `Cannot parse Via header ${quote(v)}: sent-protocol or sent-by is malformed`;
      report(scan, PARSE_ERROR.via, message);
      return [];
    }
    for (const via of parsed) vias.push(via);
  }
  return vias;
}

/** Parses each single header found into its field, in the order of SINGLE_HEADERS. */
function readSingleHeaders(msg: MessageDraft, scan: HeaderScan, start: StartLine): void {
  for (let i = 0; i < SINGLE_HEADERS.length; i++) {
    const value = scan.singles[i];
    if (value === undefined) continue;
    const row = SINGLE_HEADERS[i]!;
    const detail = fillSingle(msg, row, value, start);
    if (detail !== undefined) {
      report(scan, row.code, `Cannot parse ${row.label} header ${quote(value)}: ${detail}`);
    }
  }
}

/** Checks each Contact, Route and Record-Route line of a request (RFC 3261 §16.3 step 1). */
function checkNameAddrLists(scan: HeaderScan, method: string): void {
  for (const { name, value } of scan.lists) {
    const detail = nameAddrListProblem(name, value, method);
    if (detail !== undefined) {
      const message = `Cannot parse ${NAME_ADDR_LISTS.get(name)} header ${quote(value)}: ${detail}`;
      return report(scan, PARSE_ERROR.header, message);
    }
  }
}

// Body (RFC 3261 §18.3): Content-Length bounds it; octets after it in a datagram are dropped.

const DIGITS = /^\d+$/;

function frameBody(msg: MessageDraft, scan: HeaderScan, text: string): void {
  const n = text.length;
  const end = messageEnd(scan, n);
  if (scan.bodyStart < end) msg.body = text.slice(scan.bodyStart, end);
  if (end < n) msg.raw = text.slice(0, end);
}

/** Where the message ends: after Content-Length bytes of body, else at the end of the text. */
function messageEnd(scan: HeaderScan, n: number): number {
  const lengths = scan.lengths;
  const first = lengths[0];
  if (first === undefined) return n;
  for (const v of lengths) {
    const bad = !DIGITS.test(v) || v.length > 10;
    if (bad || Number(v) !== Number(first)) {
      const detail = bad
        ? "value is not a non-negative integer"
        : `it conflicts with ${quote(first)}`;
      const message = `Cannot parse Content-Length header ${quote(v)}: ${detail}`;
      report(scan, PARSE_ERROR.contentLength, message);
    }
  }
  // Unless the problem reported is a Content-Length one, the first value frames the body (of a
  // partial message too). A NaN end (a malformed first value behind an earlier problem) frames none.
  if (scan.problem?.code === PARSE_ERROR.contentLength) return n;
  const end = scan.bodyStart + Number(first);
  if (!(end > n)) return end;
  const available = n - scan.bodyStart;
  const message = `Cannot parse Content-Length header ${
    quote(first)
  }: only ${available} bytes of body are available`;
  report(scan, PARSE_ERROR.contentLength, message);
  return n;
}

/** Keeps the first problem found: one error per message. */
function report(scan: HeaderScan, code: ParseErrorCode, message: string): void {
  scan.problem ??= { code, message };
}

function fail(code: ParseErrorCode, message: string, partial?: SipMessage): ParseResult {
  return { ok: false, error: { code, message, partial } };
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
