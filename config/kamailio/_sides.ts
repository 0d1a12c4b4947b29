/**
 * The two edgesbc interfaces, made from Kamailio's listen addresses for `edgesbc import`: which
 * addresses form the sides, which side faces the PBX, and what each side advertises.
 */

import type { SipProto } from "../config.ts";
import type { ImportState } from "./_findings.ts";
import type { Cfg, Listen } from "./_top_level.ts";
import { isIpAddress } from "../socket_address.ts";

/** One interface: an IP address and the listen sockets on it. */
export interface ImportSide {
  readonly ip: string;
  readonly listens: Listen[];
}

/** The two interfaces, by IP address, in the order they are first listened on. */
export function groupSides(
  cfg: Cfg,
  rtpListen: readonly string[],
  state: ImportState,
): ImportSide[] {
  let listens = cfg.listens;
  if (listens.length === 0 && rtpListen.length === 2) {
    // Kamailio binds every address without listen; the rtpproxy halves are the two sides.
    const port = cfg.defaultPort ?? 5060;
    const protos: SipProto[] = cfg.tcpDisabled ? ["udp"] : ["udp", "tcp"];
    listens = rtpListen.flatMap((host) =>
      protos.map((proto) => ({
        proto,
        host,
        port,
        advertise: undefined,
        advertisePort: undefined,
        text: `(no listen: rtpproxy -l ${host}, ${proto} port ${port})`,
      }))
    );
    state.notes.push("no listen lines: SIP sockets made from the rtpproxy -l addresses");
  }
  const byIp = new Map<string, Listen[]>();
  for (const listen of listens) {
    const list = byIp.get(listen.host) ?? [];
    list.push(listen);
    byIp.set(listen.host, list);
  }
  let ips = [...byIp.keys()];
  if (ips.length > 2) {
    // Prefer the addresses rtpproxy bridges between; the rest have no place in edgesbc.
    const preferred = ips.filter((ip) => rtpListen.includes(ip));
    const chosen = preferred.length === 2 ? preferred : ips.slice(0, 2);
    for (const ip of ips.filter((candidate) => !chosen.includes(candidate))) {
      for (const listen of byIp.get(ip)!) {
        state.untranslated.push(
          `${listen.text} (edgesbc has two interfaces: ${chosen.join(", ")})`,
        );
      }
    }
    ips = chosen;
  }
  if (ips.length < 2) {
    state.notes.push(
      `listen addresses give ${ips.length} interface address(es); edgesbc needs two (one per ` +
        "side): add the missing side's sip and media by hand",
    );
    while (ips.length < 2) ips.push(ips.length === 0 ? "192.0.2.1" : "192.0.2.2");
  }
  return ips.map((ip) => ({ ip, listens: byIp.get(ip) ?? [] }));
}

/** Index (0 or 1) of the internal side, and a comment saying why. */
export function decideInternal(
  sides: readonly ImportSide[],
  pbxHost: string | undefined,
  rtpListen: readonly string[],
  state: ImportState,
): { internal: number; reason: string } {
  const [a, b] = sides as [ImportSide, ImportSide];
  if (pbxHost !== undefined && isIpAddress(pbxHost)) {
    const bitsA = prefixBits(a.ip, pbxHost);
    const bitsB = prefixBits(b.ip, pbxHost);
    if (bitsA !== bitsB) {
      const [inside, outside, bitsIn, bitsOut] = bitsA > bitsB
        ? [a, b, bitsA, bitsB]
        : [b, a, bitsB, bitsA];
      return {
        internal: inside === a ? 0 : 1,
        reason: `internal: ${inside.ip} shares ${bitsIn} leading bits with the PBX ${pbxHost} ` +
          `(${outside.ip}: ${bitsOut})`,
      };
    }
  }
  // No PBX address to compare with: a private address faces the PBX, a public one the carriers.
  const privateA = isPrivate(a.ip);
  if (privateA !== isPrivate(b.ip)) {
    const internal = privateA ? 0 : 1;
    const reason = `internal: ${sides[internal]!.ip} is a private address and the other is not ` +
      "(the PBX address did not decide it)";
    state.notes.push(reason);
    return { internal, reason };
  }
  // rtpproxy's own source calls its first -l address the external one.
  const second = rtpListen[1];
  const internal = second !== undefined && a.ip === second ? 0 : 1;
  const reason = `internal: ${sides[internal]!.ip} guessed (${
    second !== undefined ? "second rtpproxy -l address" : "second listen address"
  }); the PBX address did not decide it: check the roles`;
  state.notes.push(reason);
  return { internal, reason };
}

/** A side's advertise address (from listen, else rtpproxy -A) and comments saying why. */
export function pickAdvertise(
  side: ImportSide,
  mediaIndex: number | undefined,
  rtpAdvertise: readonly string[],
  state: ImportState,
): { value: string | undefined; comments: string[] } {
  const comments: string[] = [];
  const fromListen = side.listens.find((l) => l.advertise !== undefined);
  const fromRtp = mediaIndex === undefined ? undefined : rtpAdvertise[mediaIndex];
  for (const listen of side.listens) {
    if (listen.advertisePort !== undefined && listen.advertisePort !== listen.port) {
      state.notes.push(`${listen.text}: the advertised port is not translated (same port kept)`);
    }
  }
  if (fromListen && fromRtp && fromListen.advertise !== fromRtp) {
    state.notes.push(
      `${side.ip}: listen advertises ${fromListen.advertise} but rtpproxy -A ${fromRtp}; ` +
        "edgesbc has one advertise per side: the listen one is used",
    );
  }
  const value = fromListen?.advertise ?? fromRtp;
  const source = fromListen !== undefined
    ? fromListen.text
    : `rtpproxy -A ${rtpAdvertise.join("/")} (${mediaIndex === 0 ? "first" : "second"} address)`;
  if (value === undefined) return { value, comments };
  if (value === side.ip) {
    comments.push(`${source} gives ${value}, this side's own address: no advertise needed`);
    return { value: undefined, comments };
  }
  if (!isIpAddress(value)) {
    state.notes.push(`${source}: advertise "${value}" is not an IP address: left out`);
    return { value: undefined, comments: [`${source}: "${value}" is not an IP address`] };
  }
  comments.push(`from: ${source}`);
  return { value, comments };
}

// Address arithmetic.

/** Leading bits two addresses share; 0 across address families. */
export function prefixBits(a: string, b: string): number {
  const bitsA = ipBits(a);
  const bitsB = ipBits(b);
  if (bitsA === undefined || bitsB === undefined || bitsA.length !== bitsB.length) return 0;
  let n = 0;
  while (n < bitsA.length && bitsA[n] === bitsB[n]) n++;
  return n;
}

function ipBits(ip: string): string | undefined {
  if (!isIpAddress(ip)) return undefined;
  const byte = (n: number, width: number) => n.toString(2).padStart(width, "0");
  if (!ip.includes(":")) return ip.split(".").map((part) => byte(Number(part), 8)).join("");
  const [head = "", tail] = ip.split("::");
  const groups = (text: string | undefined) =>
    text === undefined || text === ""
      ? []
      : text.split(":").flatMap((group) =>
        group.includes(".")
          ? (ipBits(group)!.match(/.{16}/g) ?? []).map((bits) => parseInt(bits, 2).toString(16))
          : [group]
      );
  const left = groups(head);
  const right = groups(tail);
  const middle = Array(Math.max(0, 8 - left.length - right.length)).fill("0");
  return [...left, ...(tail === undefined ? [] : middle), ...right]
    .map((group) => byte(parseInt(group, 16), 16)).join("");
}

// RFC 1918, RFC 6598 shared, loopback, link-local and RFC 4193 unique local addresses.
const PRIVATE_V4 =
  /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.)/;
function isPrivate(ip: string): boolean {
  return PRIVATE_V4.test(ip) || /^(127\.|169\.254\.)/.test(ip) || /^(f[cd]|fe80:|::1$)/i.test(ip);
}
