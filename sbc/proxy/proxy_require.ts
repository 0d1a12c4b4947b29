/**
 * Proxy-Require (RFC 3261 §16.3 step 5, §20.29): an extension the sender needs every proxy on the
 * path to support. edgesbc supports none, so any option tag there refuses the request with
 * 420 Bad Extension and an Unsupported header naming the tags (§8.2.2.3). A pure decision; the
 * core answers it before routing, so no routing script can forget it.
 */
import { isToken } from "../message/header_codecs.ts";
import { getHeaderValues } from "../message/message.ts";
import { reasonPhrase } from "../message/response.ts";
import type { SipMessage } from "../message/sip_message.ts";

/** An answer the core sends instead of routing the request: status, reason and header lines. */
export interface Refusal {
  readonly status: number;
  readonly reason: string;
  readonly headers: readonly (readonly [string, string])[];
}

/** The Proxy-Require option tags edgesbc supports: none. */
const SUPPORTED: ReadonlySet<string> = new Set();

/**
 * The answer to a request whose Proxy-Require names an option tag we do not support: 420 with
 * the tags in Unsupported, or 400 when an entry is not a token (option-tag = token, §25.1);
 * undefined when the request may be routed.
 */
export function proxyRequireRefusal(msg: SipMessage): Refusal | undefined {
  // §8.2.2.3: CANCEL and an ACK (for a non-2xx; one for a 2xx repeats the INVITE's, which was
  // accepted) must not carry it, and it is ignored there: neither is ever answered 420.
  if (msg.method === "ACK" || msg.method === "CANCEL") return undefined;
  const tags = getHeaderValues(msg, "proxy-require");
  if (tags.length === 0) return undefined;
  const unsupported: string[] = [];
  for (const tag of tags) {
    if (!isToken(tag)) {
      const reason = "Cannot parse Proxy-Require header: option-tag is not a token";
      return { status: 400, reason, headers: [] };
    }
    if (!SUPPORTED.has(tag) && !unsupported.includes(tag)) unsupported.push(tag);
  }
  if (unsupported.length === 0) return undefined;
  return {
    status: 420,
    reason: reasonPhrase(420),
    headers: [["Unsupported", unsupported.join(", ")]],
  };
}
