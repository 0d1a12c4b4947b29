/**
 * The start line of a SIP message: a Request-Line or a Status-Line (RFC 3261 §7.1, §7.2), read by
 * parseMessage() (message.ts) before any header.
 */

import { isToken } from "./header_codecs.ts";
import { PARSE_ERROR } from "./sip_message.ts";
import { type Problem, quote } from "./_parse_problem.ts";

/** What the start line says, and what is wrong with it. */
export interface StartLine {
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

/** Reads a start line (without its CRLF); never throws. */
export function parseStartLine(line: string): StartLine {
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
      message: `Cannot parse start line ${quote(line)}: version ${quote(version)} is not supported`,
    };
  } else if (parts.length > 3) {
    problem = {
      code: PARSE_ERROR.uri,
      message: `Cannot parse Request-URI ${quote(uri)}: it contains whitespace`,
    };
  } else if (!REQUEST_URI.test(uri)) {
    problem = {
      code: PARSE_ERROR.uri,
      message: `Cannot parse Request-URI ${quote(uri)}: it does not start with a scheme`,
    };
  }
  return { kind: "request", method, uri, status: 0, reason: "", problem, answerable: true };
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
      message: `Cannot parse start line ${quote(line)}: ${detail}`,
    },
    answerable: false,
  };
}
