/**
 * How parseMessage() words what is wrong with a message: a stable code and a std-style message
 * (`Cannot parse Via header "…": sent-protocol or sent-by is malformed`), shared by its steps.
 */

import type { ParseErrorCode } from "./sip_message.ts";

/** One thing wrong with a message; the first one found is the one reported. */
export interface Problem {
  readonly code: ParseErrorCode;
  readonly message: string;
}

/** Quotes a received value for an error message; it may become a reason phrase, so no controls. */
export function quote(value: string): string {
  const v = value.length > 60 ? value.slice(0, 60) + "..." : value;
  // deno-lint-ignore no-control-regex
  return `"${v.replace(/[\x00-\x1f\x7f]/g, "?").replaceAll('"', "'")}"`;
}
