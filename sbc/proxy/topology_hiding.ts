/**
 * Topology hiding (Kamailio's topoh/topos as the reference): nothing that leaves by a hiding
 * interface names an address or host of the other side. Pure functions over a message that
 * return the edits; the proxy core applies them after routing, so a routing script still sees
 * the original values. What the outside sees is mapped back on the way in: answers from the
 * transaction's request, in-dialog requests from the dialog (dialog_routing.ts).
 *
 * @module
 */
import { createHmac } from "node:crypto";
import { inNetworks } from "../../config/cidr.ts";
import type { Cidr, Config, SipProto } from "../../config/config.ts";
import { isIpAddress } from "../../config/socket_address.ts";
import { getHeader } from "../message/message.ts";
import { parseNameAddr, splitValues } from "../message/header_codecs.ts";
import type { Edit, SipMessage } from "../message/sip_message.ts";
import { formatUri, parseUri } from "../message/uri.ts";
import type { Dialog } from "./dialog.ts";
import { hostPort, localRole, type LocalSide, type LocalSides } from "./local_address.ts";
import type { SideNetworks } from "./side_networks.ts";
import { transportParam } from "../transport/transport_name.ts";

/** What the external interface hides, and how it shows itself instead. */
export interface TopologyHiding {
  /** Our identity on the external side: what Contact, Record-Route and hosts become. */
  readonly side: LocalSide;
  /** The inside's networks: an address in them never leaves. */
  readonly inside: readonly Cidr[];
  /** Inside host names (the PBX's, when it is a name), lower case. */
  readonly insideNames: readonly string[];
  /** Server/User-Agent value going out; undefined removes them. */
  readonly serverHeader: string | undefined;
  /** Keys the Call-ID mapping; per process (a restart ends the calls with the media). */
  readonly key: Uint8Array;
  /** `inside`'s IPv4 networks as [base, mask] numbers, for the per-header check. */
  readonly insideV4: readonly (readonly [number, number])[];
  /** Recent inside Call-IDs and what the outside sees (bounded; cleared when full). */
  readonly callIds: Map<string, string>;
}

/** The external interface's hiding, or undefined when `topology_hiding = false`. */
export function topologyHiding(
  config: Config,
  sides: LocalSides,
  networks: SideNetworks,
): TopologyHiding | undefined {
  if (!config.external.topologyHiding) return undefined;
  const names = config.pbx.targets.map((t) => t.address.host).filter((h) => !isIpAddress(h));
  return {
    side: sides.external,
    inside: networks.internal,
    insideNames: names.map((name) => name.toLowerCase()),
    serverHeader: config.external.serverHeader,
    key: crypto.getRandomValues(new Uint8Array(32)),
    insideV4: networks.internal.filter((n) => !n.v6).map((n) => {
      const mask = n.prefix === 0 ? 0 : (0xffffffff << (32 - n.prefix)) >>> 0;
      return [Number(n.base), mask] as const;
    }),
    callIds: new Map(),
  };
}

// IPv4 dotted quads, bracketed IPv6, and bare IPv6 with at least two colons.
const ADDRESS_REGEXP =
  /\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f.]*|\d{1,3}(?:\.\d{1,3}){3}/g;
const DOTTED_QUAD_REGEXP = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** `text` names an inside address or host. Runs over every header going out: kept cheap. */
export function namesInside(hiding: TopologyHiding, text: string): boolean {
  for (const match of text.matchAll(ADDRESS_REGEXP)) {
    const found = match[0];
    const quad = DOTTED_QUAD_REGEXP.exec(found);
    if (quad) {
      if (insideV4(hiding, quad)) return true;
      continue;
    }
    if (inNetworks(found, hiding.inside)) return true;
  }
  if (hiding.insideNames.length === 0) return false;
  const lower = text.toLowerCase();
  return hiding.insideNames.some((name) => lower.includes(name));
}

/**
 * A dotted quad in the inside's IPv4 networks, by plain numbers (no BigInt on the hot path). One
 * with a leading zero counts as inside: a reader could take it for either address.
 */
function insideV4(hiding: TopologyHiding, quad: RegExpExecArray): boolean {
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const part = quad[i]!;
    const n = Number(part);
    if (n > 255) return false;
    if (part.length > 1 && part[0] === "0") return true;
    value = value * 256 + n;
  }
  return hiding.insideV4.some(([base, mask]) => ((value & mask) >>> 0) === base);
}

/** The outside Call-IDs of recent inside ones: each is asked for on every message of a call. */
const CALL_ID_CACHE_SIZE = 4096;

/** The Call-ID the outside sees for an inside one: a keyed hash when it names the inside. */
export function outsideCallId(hiding: TopologyHiding, callId: string): string {
  const cached = hiding.callIds.get(callId);
  if (cached !== undefined) return cached;
  const shown = namesInside(hiding, callId)
    ? `es${createHmac("sha256", hiding.key).update(callId).digest("base64url").slice(0, 24)}`
    : callId;
  if (hiding.callIds.size >= CALL_ID_CACHE_SIZE) hiding.callIds.clear();
  hiding.callIds.set(callId, shown);
  return shown;
}

/** Headers whose value is a name-addr whose host is rewritten rather than removed. */
const HOST_REWRITTEN = new Set([
  "from",
  "to",
  "p-asserted-identity",
  "p-preferred-identity",
  "remote-party-id",
  "referred-by",
  "diversion",
]);

/** Headers this module rewrites itself, or that only ever name the outside or us. */
const HANDLED = new Set([
  ...HOST_REWRITTEN,
  "via",
  "record-route",
  "route",
  "contact",
  "call-id",
  "server",
  "user-agent",
]);

/**
 * The edits that hide the inside from a message leaving by the external side, computed over the
 * message as received plus `routeEdits` (the route's own, which are filtered too): Contact
 * becomes ours, From/To and identity hosts ours, the Call-ID mapped, Server/User-Agent replaced,
 * any other header naming the inside removed. Via and Record-Route are the caller's job
 * (requests: `hiddenRequestEdits`; answers: `hiddenAnswerEdits`).
 */
function hideCommon(
  hiding: TopologyHiding,
  msg: SipMessage,
  proto: SipProto,
  routeEdits: readonly Edit[],
): Edit[] {
  const edits: Edit[] = routeEdits.filter((edit) =>
    (edit.op !== "prepend" && edit.op !== "append" && edit.op !== "replace") ||
    !namesInside(hiding, edit.value)
  );
  const host = hiding.side.host;
  const removed = new Set<string>();
  msg.headers.forEach((h, index) => {
    if (h.name === "contact") {
      return edits.push({ op: "replace", index, value: ourContacts(hiding, h.value, proto) });
    }
    if (HOST_REWRITTEN.has(h.name)) {
      const value = rewriteHosts(hiding, h.value, host);
      if (value !== h.value) edits.push({ op: "replace", index, value });
      return;
    }
    if (h.name === "call-id") {
      const value = outsideCallId(hiding, h.value);
      if (value !== h.value) edits.push({ op: "replace", index, value });
      return;
    }
    if (!HANDLED.has(h.name) && !removed.has(h.name) && namesInside(hiding, h.value)) {
      removed.add(h.name);
      edits.push({ op: "remove-all", name: h.name });
    }
  });
  edits.push({ op: "remove-all", name: "server" }, { op: "remove-all", name: "user-agent" });
  if (hiding.serverHeader !== undefined) {
    const name = msg.kind === "request" ? "User-Agent" : "Server";
    edits.push({ op: "append", name, value: hiding.serverHeader });
  }
  return edits;
}

/**
 * The body going out, when it still names the inside after the media relay (SDP it did not
 * manage, in an answer to OPTIONS, or a script that skipped `rtpproxy_manage`; any other type):
 * the edit that removes it. Last among the edits, as it reads the body they leave.
 */
export function hiddenBodyEdit(
  hiding: TopologyHiding,
  msg: SipMessage,
  edits: readonly Edit[],
): Edit | undefined {
  let body = msg.body;
  for (const edit of edits) if (edit.op === "body") body = edit.body;
  return body !== "" && namesInside(hiding, body) ? { op: "body", body: "" } : undefined;
}

/**
 * A request from inside leaving by the external side: the common edits, and no Via or
 * Record-Route of the inside (the caller adds ours; answers get the Vias back by
 * `restoreEdits`, the dialog keeps the route set).
 */
export function hiddenRequestEdits(
  hiding: TopologyHiding,
  msg: SipMessage,
  proto: SipProto,
  routeEdits: readonly Edit[],
): Edit[] {
  return [
    ...hideCommon(hiding, msg, proto, routeEdits),
    { op: "remove-all", name: "via" },
    { op: "remove-all", name: "record-route" },
  ];
}

/**
 * An answer going out by the external side: the common edits, and the Record-Route entries
 * above our external one (the PBX's and our inside one) removed.
 */
export function hiddenAnswerEdits(
  hiding: TopologyHiding,
  sides: LocalSides,
  reply: SipMessage,
  proto: SipProto,
): Edit[] {
  const edits = hideCommon(hiding, reply, proto, []);
  const entries = reply.headers.filter((h) => h.name === "record-route")
    .flatMap((h) => splitValues(h.value));
  const ours = entries.findIndex((entry) => {
    const uri = parseUri(parseNameAddr(entry)?.uri ?? "");
    return uri !== undefined && localRole(sides, uri.host, uri.port) === "external";
  });
  if (entries.length > 0) {
    edits.push({ op: "remove-all", name: "record-route" });
    const kept = ours < 0 ? [] : entries.slice(ours);
    if (kept.length > 0) {
      edits.push({ op: "prepend", name: "Record-Route", value: kept.join(", ") });
    }
  }
  return edits;
}

/**
 * An answer going back to the party that sent `upstream`, made to match what that party sent:
 * its Via lines, Call-ID, From and To (with the answer's To tag). For answers to requests whose
 * headers hiding changed on the way out, or that were mapped to the inside's view on the way in.
 */
export function restoreEdits(
  reply: SipMessage,
  upstream: SipMessage,
  recordRoute?: InsideRecordRoute,
): Edit[] {
  const edits: Edit[] = [{ op: "remove-all", name: "via" }];
  if (recordRoute) edits.push(...insideRecordRoute(reply, upstream, recordRoute));
  const vias = upstream.headers.filter((h) => h.name === "via");
  for (let i = vias.length - 1; i >= 0; i--) {
    edits.push({ op: "prepend", name: "Via", value: vias[i]!.value });
  }
  const to = getHeader(upstream, "to") ?? "";
  const tagged = upstream.toTag === undefined && reply.toTag !== undefined
    ? `${to};tag=${reply.toTag}`
    : to;
  reply.headers.forEach((h, index) => {
    if (h.name === "call-id") edits.push({ op: "replace", index, value: upstream.callId });
    if (h.name === "from") {
      edits.push({ op: "replace", index, value: getHeader(upstream, "from")! });
    }
    if (h.name === "to") edits.push({ op: "replace", index, value: tagged });
  });
  return edits;
}

/** What the PBX's view of a Record-Route set needs: our entries and which side each faces. */
export interface InsideRecordRoute {
  readonly sides: LocalSides;
  /** Our internal entry, for the transport the PBX used. */
  readonly internalEntry: string;
}

/**
 * The Record-Route of a dialog-creating answer from outside as the PBX must see it: the outside
 * copied what it got (down to our external entry); below that come our internal entry and the
 * PBX's own entries from its request, so the PBX's route set leads back through our inside.
 */
function insideRecordRoute(
  reply: SipMessage,
  upstream: SipMessage,
  rr: InsideRecordRoute,
): Edit[] {
  const entries = reply.headers.filter((h) => h.name === "record-route")
    .flatMap((h) => splitValues(h.value));
  const ours = entries.findIndex((entry) => {
    const uri = parseUri(parseNameAddr(entry)?.uri ?? "");
    return uri !== undefined && localRole(rr.sides, uri.host, uri.port) === "external";
  });
  if (ours < 0) return [];
  const pbx = upstream.headers.filter((h) => h.name === "record-route")
    .flatMap((h) => splitValues(h.value));
  const value = [...entries.slice(0, ours + 1), rr.internalEntry, ...pbx].join(", ");
  return [
    { op: "remove-all", name: "record-route" },
    { op: "prepend", name: "Record-Route", value },
  ];
}

/**
 * The edits that turn an outside party's in-dialog request into what the PBX knows: the inside
 * Call-ID, From and To; empty when hiding changed none of them.
 */
export function insideViewEdits(msg: SipMessage, dialog: Dialog): Edit[] {
  if (!dialog.hidden) return [];
  const edits: Edit[] = [];
  msg.headers.forEach((h, index) => {
    if (h.name === "call-id") edits.push({ op: "replace", index, value: dialog.insideCallId });
    if (h.name === "from") {
      edits.push({ op: "replace", index, value: `${dialog.outsideParty};tag=${msg.fromTag}` });
    }
    if (h.name === "to") {
      edits.push({ op: "replace", index, value: `${dialog.insideParty};tag=${msg.toTag}` });
    }
  });
  return edits;
}

/**
 * Each Contact URI replaced by ours on the external side, keeping its user (or `es`: a URI of
 * ours without a user reads as a strict router's rewrite, RFC 3261 §16.4) and header parameters.
 */
function ourContacts(hiding: TopologyHiding, value: string, proto: SipProto): string {
  if (value.trim() === "*") return value;
  return splitValues(value).map((entry) => {
    const contact = parseNameAddr(entry);
    if (!contact) return `<sip:es@${hostPort(hiding.side, proto)}>`;
    const uri = parseUri(contact.uri);
    const user = `${uri?.user || "es"}@`;
    const transport = transportParam(proto);
    const params = Object.entries(contact.params)
      .map(([key, v]) => (v === "" ? `;${key}` : `;${key}=${v}`)).join("");
    return `<sip:${user}${hostPort(hiding.side, proto)}${transport}>${params}`;
  }).join(", ");
}

/** A name-addr value with the host of its URI replaced by `host` when it names the inside. */
function rewriteHosts(hiding: TopologyHiding, value: string, host: string): string {
  if (!namesInside(hiding, value)) return value;
  const entry = parseNameAddr(value);
  const uri = entry && parseUri(entry.uri);
  if (!entry || !uri) return value;
  const outside = formatUri({ ...uri, host, port: undefined });
  const display = entry.display === undefined ? "" : `"${entry.display.replace(/["\\]/g, "")}" `;
  const params = Object.entries(entry.params)
    .map(([key, v]) => (v === "" ? `;${key}` : `;${key}=${v}`)).join("");
  return `${display}<${outside}>${params}`;
}
