/**
 * Turning a target URI into an address to send to (RFC 3263, simplified): an IP literal is used
 * as is; a host name without a port is looked up as SRV `_sip._udp`/`_sip._tcp`/`_sips._tcp`, then
 * A (through the system resolver).
 */
import { canonicalIp } from "../../config/cidr.ts";
import { getLogger } from "@logtape/logtape";
import type { SipProto } from "../../config/config.ts";
import { lookup } from "node:dns/promises";
import type { Peer } from "./peer.ts";
import { parseUri } from "../message/uri.ts";
import { DEFAULT_SIP_PORT, DEFAULT_SIPS_PORT } from "../../config/socket_address.ts";
import { protoNamed } from "./transport_name.ts";

const log = getLogger(["edgesbc", "dns"]);

export interface Destination {
  readonly peer: Peer;
  readonly proto: SipProto;
  /** The host name it was resolved from: a TLS server is checked against it (RFC 5922 §7.2). */
  readonly name?: string;
}

const IPV4_REGEXP = /^\d{1,3}(\.\d{1,3}){3}$/;

/** RFC 3261 §19.1.2: 5061 for TLS, 5060 otherwise. */
function defaultPort(proto: SipProto): number {
  return proto === "tls" ? DEFAULT_SIPS_PORT : DEFAULT_SIP_PORT;
}

/** Whether a host is an IP literal (IPv6 in brackets or bare). */
export function isIpLiteral(host: string): boolean {
  return IPV4_REGEXP.test(host) || host.includes(":");
}

/** Resolves a SIP URI to an address; undefined when it cannot be (the caller answers 404/503). */
export async function resolveUri(
  uri: string,
  fallbackProto: SipProto,
): Promise<Destination | undefined> {
  const u = parseUri(uri);
  if (!u || (u.scheme !== "sip" && u.scheme !== "sips")) return undefined;
  // A SIPS URI is reached over TLS only (RFC 3261 §26.2.2).
  const proto: SipProto = u.scheme === "sips"
    ? "tls"
    : protoNamed(u.params.transport) ?? fallbackProto;
  return await resolveHost(u.host, u.port, proto);
}

/** Resolves a host (and optional port) for a transport. */
export async function resolveHost(
  host: string,
  port: number | undefined,
  proto: SipProto,
): Promise<Destination | undefined> {
  const bare = host.startsWith("[") ? host.slice(1, -1) : host;
  if (isIpLiteral(bare)) {
    // Sent as the guard checks it: a mapped IPv6 as its IPv4, an octal-looking IPv4 not at all.
    const host = canonicalIp(bare);
    return host === undefined
      ? undefined
      : { peer: { host, port: port ?? defaultPort(proto) }, proto };
  }
  try {
    if (port === undefined) {
      // RFC 3263 §4.2: TLS is looked up as _sips._tcp.
      const service = proto === "tls" ? "_sips._tcp" : `_sip._${proto}`;
      const srv = await Deno.resolveDns(`${service}.${bare}`, "SRV").catch(() => []);
      const best = srv.sort((a, b) => a.priority - b.priority || b.weight - a.weight)[0];
      if (best) {
        const a = await lookup(best.target, { family: 4 });
        // RFC 5922 §7.2: the certificate must name the domain asked for, not the SRV target.
        return { peer: { host: a.address, port: best.port }, proto, name: bare };
      }
    }
    // getaddrinfo, so /etc/hosts names work as operators expect.
    const a = await lookup(bare, { family: 4 });
    return { peer: { host: a.address, port: port ?? defaultPort(proto) }, proto, name: bare };
  } catch (err) {
    log.warn("Cannot resolve {host}: {err}", { host: bare, err: `${err}` });
  }
  return undefined;
}
