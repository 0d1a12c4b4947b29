/**
 * Headers embedded in a Request-URI (`sip:bob@host?Route=%3Csip:evil%3E`) never leave the proxy:
 * RFC 3261 §19.1.5 does not allow them there, and RFC 4475 §3.1.2.11 lets a proxy either answer
 * 400 or ignore them, so long as the forwarded Request-URI does not carry them. edgesbc strips
 * them: the rest of the request is sound, they hold nothing the request needs, and no element
 * downstream (a PBX that would turn them into header fields, as a UA dialing such a URI does)
 * gets the chance to act on them.
 */
import type { Edit, SipMessage } from "../message/sip_message.ts";
import { withoutUriHeaders } from "../message/uri.ts";

/**
 * The set-uri edit that drops the headers of the Request-URI `msg` leaves with (the last set-uri
 * of `edits`, else its own); undefined when it has none.
 */
export function uriHeadersEdit(msg: SipMessage, edits: readonly Edit[]): Edit | undefined {
  if (msg.kind !== "request") return undefined;
  let uri = msg.uri;
  for (let i = edits.length - 1; i >= 0; i--) {
    const edit = edits[i]!;
    if (edit.op === "set-uri") {
      uri = edit.uri;
      break;
    }
  }
  const bare = withoutUriHeaders(uri);
  return bare === uri ? undefined : { op: "set-uri", uri: bare };
}
