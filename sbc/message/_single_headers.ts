/**
 * The headers parseMessage() (message.ts) allows at most once, one row each: its name, how error
 * messages spell it, whether a message needs it, the error code, the SipMessage field its value
 * fills and the function that parses it. The rows' order is the order the values are checked in.
 */

import { isToken, parseNameAddr } from "./header_codecs.ts";
import { PARSE_ERROR, type ParseErrorCode, type SipMessage } from "./sip_message.ts";
import { quote } from "./_parse_problem.ts";
import type { StartLine } from "./_start_line.ts";

/** The SipMessage fields a single header fills. */
export type SingleField = "fromTag" | "toTag" | "callId" | "cseq" | "maxForwards";

/** One row of SINGLE_HEADERS. */
export interface SingleHeader<F extends SingleField> {
  /** Lowercase full name, as in `HeaderField.name`. */
  readonly name: string;
  /** The name as error messages spell it. */
  readonly label: string;
  /** RFC 3261 §8.1.1 (and §20 for responses): without it the message cannot be answered. */
  readonly mandatory: boolean;
  /** The error code when the value is malformed. */
  readonly code: ParseErrorCode;
  /** The field of the message the value fills. */
  readonly field: F;
  /** The field's value, or why the header's value is malformed. */
  readonly parse: (value: string, start: StartLine) => SipMessage[F] | Invalid<SipMessage[F]>;
}

/** A malformed value: why, for the error message, and what its field holds all the same. */
interface Invalid<T> {
  readonly invalid: string;
  readonly value: T;
}

type AnySingleHeader = { [F in SingleField]: SingleHeader<F> }[SingleField];

/** Checked after Via, in this order; Via and Content-Length may repeat, so they have no row. */
export const SINGLE_HEADERS: readonly AnySingleHeader[] = [
  {
    name: "from",
    label: "From",
    mandatory: true,
    code: PARSE_ERROR.header,
    field: "fromTag",
    parse: tagOf,
  },
  {
    name: "to",
    label: "To",
    mandatory: true,
    code: PARSE_ERROR.header,
    field: "toTag",
    parse: tagOf,
  },
  {
    name: "call-id",
    label: "Call-ID",
    mandatory: true,
    code: PARSE_ERROR.header,
    field: "callId",
    parse: callIdOf,
  },
  {
    name: "cseq",
    label: "CSeq",
    mandatory: true,
    code: PARSE_ERROR.cseq,
    field: "cseq",
    parse: cseqOf,
  },
  {
    name: "max-forwards",
    label: "Max-Forwards",
    mandatory: false,
    code: PARSE_ERROR.maxForwards,
    field: "maxForwards",
    parse: maxForwardsOf,
  },
];

/** Lowercase full header name → index of its row in SINGLE_HEADERS. */
export const SINGLE_HEADER_INDEX: ReadonlyMap<string, number> = new Map(
  SINGLE_HEADERS.map((row, i) => [row.name, i]),
);

/** The fields of a message being parsed that the single headers fill. */
export type SingleFields = { -readonly [K in SingleField]: SipMessage[K] };

/** Parses `value` into the row's field of `msg`; returns why it is malformed, if it is. */
export function fillSingle<F extends SingleField>(
  msg: SingleFields,
  row: SingleHeader<F>,
  value: string,
  start: StartLine,
): string | undefined {
  const parsed = row.parse(value, start);
  if (isInvalid(parsed)) {
    msg[row.field] = parsed.value;
    return parsed.invalid;
  }
  msg[row.field] = parsed;
  return undefined;
}

function isInvalid<T>(parsed: T | Invalid<T>): parsed is Invalid<T> {
  return typeof parsed === "object" && parsed !== null && "invalid" in parsed;
}

function invalid<T>(detail: string, value: T): Invalid<T> {
  return { invalid: detail, value };
}

/** From, To: the tag parameter of the name-addr. */
function tagOf(value: string): string | undefined | Invalid<undefined> {
  const na = parseNameAddr(value);
  return na === undefined ? invalid("name-addr is malformed", undefined) : na.params.tag;
}

function callIdOf(value: string): string | Invalid<string> {
  return value === "" ? invalid("it is empty", value) : value;
}

type CSeq = SipMessage["cseq"];

/** A request's CSeq must name its method. */
function cseqOf(value: string, start: StartLine): CSeq | Invalid<CSeq> {
  const cseq = parseCSeq(value);
  if (typeof cseq === "string") return invalid(cseq, { seq: 0, method: start.method });
  if (start.kind === "request" && cseq.method !== start.method) {
    return invalid(`method does not match request method ${quote(start.method)}`, cseq);
  }
  return cseq;
}

/** CSeq = 1*DIGIT LWS Method (RFC 3261 §20.16); the number must fit in 32 bits. */
function parseCSeq(value: string): { seq: number; method: string } | string {
  let i = 0;
  while (i < value.length && value.charCodeAt(i) >= 48 && value.charCodeAt(i) <= 57) i++;
  if (i === 0) return "sequence number is not a number";
  const seq = Number(value.slice(0, i));
  if (i > 10 || seq > 0xffffffff) return "sequence number is larger than 2**32-1";
  const method = value.slice(i).trim();
  const lws = value.charCodeAt(i) === 32 || value.charCodeAt(i) === 9;
  if (i === value.length || !lws || !isToken(method)) return "method is missing or not a token";
  return { seq, method };
}

const DIGITS = /^\d+$/;

function maxForwardsOf(value: string): number | Invalid<undefined> {
  const hops = DIGITS.test(value) && value.length <= 10 ? Number(value) : -1;
  return hops >= 0 && hops <= 255 ? hops : invalid("value is not an integer in 0..255", undefined);
}
