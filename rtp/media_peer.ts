/**
 * Whom a party's media may come from and where the relay sends it (strict source, after
 * rtpengine's `strict-source` and rtpproxy's trust-address rule). Pure.
 *
 * - **Sources**: the party's SIP source address and the address its SDP names; a packet from any
 *   other host is a stranger's, dropped and counted, so spraying the relay's ports wins nothing.
 * - **Destination**: the SDP address when it is trusted (the internal side, flag `r` or `a`, or
 *   a `trusted` source such as a carrier whose media gateway its SDP names); otherwise the SIP
 *   source's address with the SDP's port (rtpproxy without `r`), until latching finds the port.
 * - Never an address in `refuse` (on the external side: the inside's networks), so an SDP cannot
 *   aim the relay at an inside host; such an address is no source either.
 *
 * @module
 */
import { canonicalIp, inNetworks } from "../config/cidr.ts";
import type { Cidr } from "../config/config.ts";

export interface PeerRule {
  /** Where the party's SIP came from; undefined when unknown. */
  readonly sipSource: string | undefined;
  /** Send to the SDP address as written. */
  readonly trustSdp: boolean;
  /** Networks this side's media never goes to or comes from. */
  readonly refuse: readonly Cidr[];
}

export interface MediaPeer {
  /** The host to send the party's media to; null: nowhere (only refused addresses). */
  readonly send: string | null;
  /** Hosts the party's media may come from (canonical spelling). */
  readonly sources: readonly string[];
}

/** The peer for a party whose SDP names `sdpHost`. */
export function mediaPeer(sdpHost: string, rule: PeerRule): MediaPeer {
  const allowed = (host: string | undefined): host is string =>
    host !== undefined && !inNetworks(host, rule.refuse);
  const sdp = canonicalIp(sdpHost) ?? sdpHost;
  const sip = rule.sipSource === undefined ? undefined : canonicalIp(rule.sipSource);
  const sources = [...new Set([sip, sdp].filter(allowed))];
  const preferred = rule.trustSdp ? [sdp, sip] : [sip, sdp];
  return { send: preferred.find(allowed) ?? null, sources };
}
