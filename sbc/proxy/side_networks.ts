/**
 * Which side owns an address: the networks behind each interface (`networks`), the side's own
 * addresses and, inside, the PBX's. The boundary a message never crosses: nothing leaves by one
 * interface towards an address the other one owns, whatever a Via, Route or Contact says.
 *
 * @module
 */
import { canonicalIp, inNetworks, parseCidr } from "../../config/cidr.ts";
import type { Cidr, Config, InterfaceConfig, Side } from "../../config/config.ts";
import { isIpAddress } from "../../config/socket_address.ts";
import { otherSide } from "./local_address.ts";

export type SideNetworks = Readonly<Record<Side, readonly Cidr[]>>;

/** Each side's networks: listed, plus its own addresses, plus every PBX target's inside. */
export function sideNetworks(config: Config): SideNetworks {
  return {
    external: withOwn(config.external, []),
    internal: withOwn(config.internal, config.pbx.targets.map((t) => t.address.host)),
  };
}

function withOwn(iface: InterfaceConfig, also: readonly string[]): readonly Cidr[] {
  const hosts = [
    ...iface.sip.map((s) => s.host),
    iface.media,
    ...(iface.advertise === undefined ? [] : [iface.advertise]),
    ...also,
  ];
  const own = [...new Set(hosts)].filter(isIpAddress).flatMap((host) => {
    const parsed = parseCidr(host);
    return parsed.ok ? [parsed.value] : [];
  });
  return [...iface.networks, ...own];
}

/** The side whose networks hold `host` (an IP literal), if one does; internal is asked first. */
export function ownerOf(networks: SideNetworks, host: string): Side | undefined {
  if (inNetworks(host, networks.internal)) return "internal";
  if (inNetworks(host, networks.external)) return "external";
  return undefined;
}

/** Answers kept per side and host: a process meets few peers, and asks for each per message. */
const BOUNDARY_CACHE_SIZE = 4096;

/**
 * `crossesBoundary()` for every message in and out, remembered per side and host (parsing an
 * address and comparing it with each network costs more than the rest of the check).
 */
export class Boundary {
  readonly #networks: SideNetworks;
  readonly #known = new Map<string, boolean>();

  constructor(networks: SideNetworks) {
    this.#networks = networks;
  }

  crosses(out: Side, host: string): boolean {
    const key = `${out}|${host}`;
    let crosses = this.#known.get(key);
    if (crosses === undefined) {
      crosses = crossesBoundary(this.#networks, out, host);
      if (this.#known.size >= BOUNDARY_CACHE_SIZE) this.#known.clear();
      this.#known.set(key, crosses);
    }
    return crosses;
  }
}

/**
 * Sending to `host` by side `out` would cross into the other side: the other side owns the
 * address and `out` does not (an address both list stays reachable from both).
 */
export function crossesBoundary(networks: SideNetworks, out: Side, host: string): boolean {
  // A literal not in its one spelling (octal-looking, mapped) may mean another host: refused.
  const bare = host.replace(/^\[|\]$/g, "");
  if (isIpAddress(bare) && canonicalIp(bare) !== bare.toLowerCase()) return true;
  return inNetworks(host, networks[otherSide(out)]) && !inNetworks(host, networks[out]);
}
