/**
 * The SBC's own addresses on each side: what goes into Via, Record-Route and Path, and how a URI
 * is recognised as pointing at us (for loose routing and strict-router repair, RFC 3261 §16.4).
 */
import type { Config, Side, SipProto } from "../../config/config.ts";

/** One side's SIP identity: the host it advertises and its listening port per transport. */
export interface LocalSide {
  readonly side: Side;
  /** Address written into headers: `advertise` if set, else the first listen address. */
  readonly host: string;
  readonly ports: Readonly<Partial<Record<SipProto, number>>>;
  /** Every host:port pair that means "us" on this side (listen and advertised). */
  readonly names: ReadonlySet<string>;
}

export type LocalSides = Readonly<Record<Side, LocalSide>>;

/** Builds both sides' identities from the config. */
export function localSides(config: Config): LocalSides {
  return { external: localSide(config, "external"), internal: localSide(config, "internal") };
}

function localSide(config: Config, side: Side): LocalSide {
  const conf = config[side];
  const first = conf.sip[0];
  const host = conf.advertise ?? first?.host ?? "127.0.0.1";
  const ports: Partial<Record<SipProto, number>> = {};
  const names = new Set<string>();
  for (const s of conf.sip) {
    ports[s.proto] ??= s.port;
    names.add(`${s.host.toLowerCase()}:${s.port}`);
    if (conf.advertise) names.add(`${conf.advertise.toLowerCase()}:${s.port}`);
  }
  return { side, host, ports, names };
}

/** The other side of the bridge. */
export function otherSide(side: Side): Side {
  return side === "external" ? "internal" : "external";
}

/** Which side a host and port (absent = 5060, RFC 3261 §19.1.2) name, if they are ours. */
export function localRole(
  sides: LocalSides,
  host: string,
  port: number | undefined,
): Side | undefined {
  // URIs and Via keep IPv6 brackets; listen addresses are stored without them.
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  const key = `${bare.toLowerCase()}:${port ?? 5060}`;
  if (sides.external.names.has(key)) return "external";
  if (sides.internal.names.has(key)) return "internal";
  return undefined;
}

/** The transport a side uses when the target does not say: UDP if it listens on UDP, then TCP. */
export function defaultProto(side: LocalSide): SipProto {
  return side.ports.udp !== undefined ? "udp" : side.ports.tcp !== undefined ? "tcp" : "tls";
}

/** `host:port` of this side for a transport (falls back to its other transport's port). */
export function hostPort(side: LocalSide, proto: SipProto): string {
  const port = side.ports[proto] ?? side.ports.udp ?? side.ports.tcp ?? side.ports.tls ?? 5060;
  const host = side.host.includes(":") && !side.host.startsWith("[") ? `[${side.host}]` : side.host;
  return `${host}:${port}`;
}
