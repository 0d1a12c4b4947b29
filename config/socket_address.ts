/**
 * Kamailio `listen` syntax: `udp:127.0.1.1:5060`, `tcp:[::1]:5060`, `127.0.1.1` (udp, 5060).
 *
 * Parsing returns a result value; config/load.ts turns a failure into a ConfigError with the key
 * and line, so the detail strings here say only what is wrong with the address.
 */

import { SIP_PROTO, type SipProto, type SocketAddress } from "./config.ts";

/** RFC 3261 §19.1.2: 5060 when a SIP URI names no port, 5061 over TLS. */
export const DEFAULT_SIP_PORT = 5060;
export const DEFAULT_SIPS_PORT = 5061;

/** Either a value or a detail string saying what is wrong. */
export type AddressResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string };

export interface ParseSocketAddressOptions {
  /** Accept a DNS name as host: where we send (the PBX), never where we bind. Default false. */
  readonly hostNames?: boolean;
}

// Protocols Kamailio's listen knows; named here so "tls:..." gets a clear refusal instead of being
// read as a host called "tls".
const KAMAILIO_PROTOS = ["udp", "tcp", "tls", "sctp", "ws", "wss"];

/**
 * Parse a socket address in Kamailio listen syntax; proto defaults to udp and port to 5060
 * (5061 for tls).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSocketAddress } from "./socket_address.ts";
 * const result = parseSocketAddress("tcp:[::1]:5070");
 * assert.deepEqual(result, { ok: true, value: { proto: "tcp", host: "::1", port: 5070 } });
 * ```
 */
export function parseSocketAddress(
  text: string,
  options: ParseSocketAddressOptions = {},
): AddressResult<SocketAddress> {
  let rest = text;
  let proto: SipProto = SIP_PROTO.udp;
  const colon = rest.indexOf(":");
  if (colon > 0 && !rest.startsWith("[")) {
    const prefix = rest.slice(0, colon).toLowerCase();
    if (KAMAILIO_PROTOS.includes(prefix)) {
      if (prefix !== SIP_PROTO.udp && prefix !== SIP_PROTO.tcp && prefix !== SIP_PROTO.tls) {
        return fail(`proto "${prefix}" is not supported: use udp, tcp or tls`);
      }
      proto = prefix;
      rest = rest.slice(colon + 1);
    }
  }
  const defaultPort = proto === SIP_PROTO.tls ? DEFAULT_SIPS_PORT : DEFAULT_SIP_PORT;
  const hostPort = parseHostPort(rest, { defaultPort, ...options });
  if (!hostPort.ok) return hostPort;
  return { ok: true, value: { proto, ...hostPort.value } };
}

/** Format a socket address in Kamailio listen syntax, bracketing IPv6 hosts. */
export function formatSocketAddress(address: SocketAddress): string {
  return `${address.proto}:${formatHostPort(address)}`;
}

export interface ParseHostPortOptions {
  /** Port to use when the text has none; without it a port is required. */
  readonly defaultPort?: number;
  /** Accept a DNS name as host. Default false. */
  readonly hostNames?: boolean;
}

/** Parse `host:port` or `[ipv6]:port`, without a proto; the host is returned without brackets. */
export function parseHostPort(
  text: string,
  options: ParseHostPortOptions = {},
): AddressResult<{ host: string; port: number }> {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) return fail(`"]" is missing after the IPv6 address`);
    host = text.slice(1, close);
    const after = text.slice(close + 1);
    if (after !== "" && !after.startsWith(":")) {
      return fail(`expected ":port" after "]", found "${after}"`);
    }
    if (!isIpV6(host)) return fail(`"${host}" is not an IPv6 address`);
    portText = after === "" ? undefined : after.slice(1);
  } else {
    const parts = text.split(":");
    if (parts.length > 2) {
      return fail(`an IPv6 address must be in brackets, as in "udp:[::1]:5060"`);
    }
    host = parts[0] ?? "";
    portText = parts[1];
    if (host === "") return fail("host is missing");
    const hostError = checkHost(host, options.hostNames ?? false);
    if (hostError !== undefined) return fail(hostError);
  }
  let port: number;
  if (portText === undefined) {
    if (options.defaultPort === undefined) return fail("port is missing");
    port = options.defaultPort;
  } else {
    if (!/^[0-9]{1,5}$/.test(portText)) return fail(`port "${portText}" is not a number`);
    port = Number(portText);
    if (port < 1 || port > 65535) return fail("port must be 1..65535");
  }
  return { ok: true, value: { host: host.toLowerCase(), port } };
}

/** Format `host:port`, bracketing an IPv6 host. */
export function formatHostPort(address: { host: string; port: number }): string {
  const host = address.host.includes(":") ? `[${address.host}]` : address.host;
  return `${host}:${address.port}`;
}

/** Whether `text` is a literal IPv4 or IPv6 address (no brackets, no zone). */
export function isIpAddress(text: string): boolean {
  return isIpV4(text) || isIpV6(text);
}

function checkHost(host: string, hostNames: boolean): string | undefined {
  if (isIpV4(host)) return undefined;
  // A dotted name ending in digits is a mistyped IPv4 address, not a host name (RFC 1123 §2.1).
  if (/^[0-9.]+$/.test(host) || /\.[0-9]+$/.test(host)) {
    return `"${host}" is not an IPv4 address`;
  }
  if (!hostNames) return `"${host}" is not an IP address (host names are not allowed here)`;
  if (!isHostName(host)) return `"${host}" is not a valid host name`;
  return undefined;
}

function isIpV4(text: string): boolean {
  const parts = text.split(".");
  return parts.length === 4 &&
    parts.every((part) => /^[0-9]{1,3}$/.test(part) && Number(part) <= 255);
}

function isIpV6(text: string): boolean {
  const halves = text.split("::");
  if (halves.length > 2) return false;
  const groups = halves.map((half) => half === "" ? [] : half.split(":"));
  const all = groups.flat();
  // An embedded IPv4 address (::ffff:192.0.2.1) may end the address and counts as two groups.
  const last = all[all.length - 1];
  const v4Tail = last !== undefined && last.includes(".");
  if (v4Tail && (!isIpV4(last) || text.endsWith(":"))) return false;
  const hex = v4Tail ? all.slice(0, -1) : all;
  if (!hex.every((group) => /^[0-9a-fA-F]{1,4}$/.test(group))) return false;
  const count = hex.length + (v4Tail ? 2 : 0);
  return halves.length === 2 ? count <= 7 : count === 8;
}

function isHostName(text: string): boolean {
  if (text.length > 253) return false;
  return text.split(".").every((label) =>
    /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label)
  );
}

function fail(error: string): { ok: false; error: string } {
  return { ok: false, error };
}
