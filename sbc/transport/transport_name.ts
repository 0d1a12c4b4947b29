/**
 * How a transport is named in SIP: the `;transport=` URI parameter (RFC 3261 §19.1.1) and the Via
 * sent-protocol (§20.42), to and from the SBC's own udp/tcp/tls.
 *
 * @module
 */
import { SIP_PROTO, type SipProto } from "../../config/config.ts";

/** The parameter a URI naming us over `proto` carries: none for UDP, the default. */
export function transportParam(proto: SipProto): string {
  return proto === SIP_PROTO.udp ? "" : `;transport=${proto}`;
}

/** The transport a URI parameter or Via names, any case; undefined when it is none of ours. */
export function protoNamed(name: string | undefined): SipProto | undefined {
  const lower = name?.toLowerCase();
  return lower === SIP_PROTO.udp || lower === SIP_PROTO.tcp || lower === SIP_PROTO.tls
    ? lower
    : undefined;
}
