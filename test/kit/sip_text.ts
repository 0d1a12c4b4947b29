/**
 * SIP text for tests: header lines joined into a message, and text parsed back into a
 * `SipMessage` (a parse failure is the test's mistake, so it throws).
 *
 * @module
 */
import { parseMessage } from "../../sbc/message/message.ts";
import { type SipMessage } from "../../sbc/message/sip_message.ts";

export interface SipOptions {
  /** Add `Content-Length` (unless a line already has one); default true. */
  readonly length?: boolean;
}

/** Joins header lines with CRLF, adds a correct Content-Length, then the blank line and `body`. */
export function sip(lines: readonly string[], body = "", options: SipOptions = {}): string {
  const hasLength = lines.some((l) => /^(content-length|l)\s*:/i.test(l));
  const head = (options.length ?? true) && !hasLength
    ? [...lines, `Content-Length: ${body.length}`]
    : lines;
  return head.join("\r\n") + "\r\n\r\n" + body;
}

/** Parses a message the test built; throws with the text when it does not parse. */
export function parse(text: string | Uint8Array): SipMessage {
  const parsed = parseMessage(text);
  if (!parsed.ok) {
    const shown = typeof text === "string" ? text : new TextDecoder().decode(text);
    throw new Error(`Cannot parse test message: ${parsed.error.message}\n${shown}`);
  }
  return parsed.value;
}
