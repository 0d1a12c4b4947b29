/**
 * Networks written as CIDR (`203.0.113.0/24`, `2001:db8::/32`, or one address), and whether an
 * address is in one of them. Pure; used by the interface keys that list trusted sources.
 *
 * @module
 */
import type { Cidr } from "./config.ts";
import { isIpAddress } from "./socket_address.ts";

/** Parses `ip/prefix` or a bare IP (one host); an error message otherwise. */
export function parseCidr(text: string): { ok: true; value: Cidr } | { ok: false; error: string } {
  const [ip = "", prefixText, extra] = text.split("/");
  if (extra !== undefined || !isIpAddress(ip)) {
    return { ok: false, error: `"${text}" is not a network: expected "203.0.113.0/24" or an IP` };
  }
  const v6 = ip.includes(":");
  const bits = v6 ? 128 : 32;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (!/^\d+$/.test(prefixText ?? "0") || prefix > bits) {
    return { ok: false, error: `"${text}": the prefix length must be 0..${bits}` };
  }
  const value = addressValue(ip)!;
  // A network of IPv4-mapped addresses is that IPv4 network, as inNetworks() reads addresses.
  if (v6 && prefix >= 96 && value >> 32n === MAPPED_BASE >> 32n) {
    const v4 = prefix - 96;
    return {
      ok: true,
      value: { text, v6: false, base: value & 0xffffffffn & mask(v4, 32), prefix: v4 },
    };
  }
  return { ok: true, value: { text, v6, base: value & mask(prefix, bits), prefix } };
}

/** `host` (an IP literal, IPv6 with or without brackets) is in one of `networks`. */
export function inNetworks(host: string, networks: readonly Cidr[]): boolean {
  if (networks.length === 0) return false;
  // IPv4-mapped IPv6 is the IPv4 address it carries: the same host on the wire.
  const bare = canonicalIp(host) ?? host;
  const value = addressValue(bare);
  if (value === undefined) return false;
  const v6 = bare.includes(":");
  return networks.some((n) => n.v6 === v6 && (value & mask(n.prefix, v6 ? 128 : 32)) === n.base);
}

/** IPv4-mapped IPv6 addresses, `::ffff:0:0/96` (RFC 4291 §2.5.5.2). */
const MAPPED_BASE = 0xffffn << 32n;

/**
 * The one spelling of an IP literal that means what the network stack will do with it: IPv4
 * dotted decimal as written, IPv6 in lower case, and an IPv4-mapped IPv6 address as its IPv4
 * address; undefined for anything else, and for IPv4 with a leading zero in a part, which
 * getaddrinfo reads as octal (`012` is 10) while a reader sees 12.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { canonicalIp } from "./cidr.ts";
 * assert.equal(canonicalIp("[::FFFF:127.0.2.10]"), "127.0.2.10");
 * assert.equal(canonicalIp("127.0.2.012"), undefined);
 * ```
 */
export function canonicalIp(host: string): string | undefined {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (!isIpAddress(bare)) return undefined;
  if (!bare.includes(":")) {
    return bare.split(".").some((part) => part.length > 1 && part.startsWith("0"))
      ? undefined
      : bare;
  }
  const value = addressValue(bare)!;
  if (value >> 32n === MAPPED_BASE >> 32n) {
    const v4 = Number(value & 0xffffffffn);
    return [v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255].join(".");
  }
  return bare.toLowerCase();
}

function mask(prefix: number, bits: number): bigint {
  const all = (1n << BigInt(bits)) - 1n;
  return all ^ ((1n << BigInt(bits - prefix)) - 1n);
}

/** The address as a number; undefined when it is not an IP literal. */
function addressValue(ip: string): bigint | undefined {
  if (!isIpAddress(ip)) return undefined;
  if (!ip.includes(":")) {
    return ip.split(".").reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
  }
  const [head = "", tail] = ip.split("::");
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  // An IPv4 tail (::ffff:192.0.2.1) is two groups.
  const expand = (list: string[]) =>
    list.flatMap((g) => {
      if (!g.includes(".")) return [g];
      const [a = 0, b = 0, c = 0, d = 0] = g.split(".").map(Number);
      return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
    });
  const l = expand(left);
  const r = expand(right);
  const all = tail === undefined ? l : [...l, ...Array(8 - l.length - r.length).fill("0"), ...r];
  return all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}
