/**
 * Proxy header rules as pure functions (RFC 3261 §16, RFC 3581, RFC 3327): each returns the
 * edits to apply or a decision; nothing here touches a socket.
 */
import type { Side, SipProto } from "../../config/config.ts";
import { formatHostPort } from "../../config/socket_address.ts";
import { hostPort, localRole, type LocalSide, type LocalSides } from "./local_address.ts";
import { getHeaderValues } from "../message/message.ts";
import { type Edit, type SipMessage } from "../message/sip_message.ts";
import { formatVia, parseNameAddr, parseVia, type Via } from "../message/header_codecs.ts";
import { parseUri } from "../message/uri.ts";
import { reasonPhrase } from "../message/response.ts";
import type { Target } from "./context.ts";
import type { Peer } from "../transport/peer.ts";
import { protoNamed, transportParam } from "../transport/transport_name.ts";
import type { Inbound, SendTarget } from "../transport/transport.ts";
import { MAGIC_COOKIE } from "../transaction/transaction.ts";

/** A rejection a step answers with (`ProxyActions.reply`), e.g. 483 from `maxForwardsEdit`. */
export interface Rejection {
  readonly status: number;
  readonly reason: string;
}

/**
 * RFC 3581 §4 and RFC 3261 §18.2.1: mark the top Via with the address the request really came
 * from, so answers find their way back through NAT.
 */
export function receivedEdit(msg: SipMessage, source: Peer): Edit | undefined {
  const top = msg.vias[0];
  if (!top) return undefined;
  const wantsRport = "rport" in top.params;
  if (top.host === source.host && !wantsRport) return undefined;
  const params: Record<string, string> = { ...top.params, received: source.host };
  if (wantsRport) params.rport = String(source.port);
  const index = msg.headers.findIndex((h) => h.name === "via");
  const line = msg.headers[index];
  if (!line) return undefined;
  // The first Via line may carry several comma-joined entries; only the first one changes.
  const rest = parseVia(line.value).slice(1).map(formatVia);
  const value = [formatVia({ ...top, params }), ...rest].join(", ");
  return { op: "replace", index, value };
}

/** Where the answers to a request received as `inbound` go: its side, transport and connection. */
export function replyTarget(msg: SipMessage, inbound: Inbound): SendTarget {
  return {
    side: inbound.side,
    proto: inbound.proto,
    dest: replyAddress(msg.vias[0], inbound.source, inbound.proto),
    connection: inbound.connection,
  };
}

/** Headers that assert who is calling, trusted by the PBX (RFC 3325, and the older RPID). */
const IDENTITY_HEADERS = ["p-asserted-identity", "p-preferred-identity", "remote-party-id"];

/**
 * RFC 3325 §5: identity headers from outside the trust domain are removed. The edits for the
 * ones `msg` carries; the route can still read them, and add its own (examples/headers.ts).
 */
export function untrustedIdentityEdits(msg: SipMessage): Edit[] {
  return IDENTITY_HEADERS.filter((name) => msg.headers.some((h) => h.name === name))
    .map((name) => ({ op: "remove-all", name }));
}

/** Where answers to a request go (RFC 3261 §18.2.2, RFC 3581 §4): source IP, rport or Via port. */
export function replyAddress(via: Via | undefined, source: Peer, proto: SipProto): Peer {
  // Over TCP and TLS the answer goes back on the connection, to where it comes from.
  if (!via || proto !== "udp") return source;
  const port = "rport" in via.params ? source.port : via.port ?? 5060;
  return { host: source.host, port };
}

/** The address an answer goes to from the next Via down, after ours was removed (§18.2.2). */
export function viaAddress(via: Via): { peer: Peer; proto: SipProto } {
  const rport = via.params.rport ? Number(via.params.rport) : undefined;
  return {
    peer: {
      host: via.params.received || via.host,
      port: rport || via.port || (via.transport === "TLS" ? 5061 : 5060),
    },
    proto: protoNamed(via.transport) ?? "udp",
  };
}

/** Our Via for a request leaving on a side (RFC 3261 §16.6 step 8). */
export function ourVia(side: LocalSide, proto: SipProto, branch: string): string {
  return `SIP/2.0/${proto.toUpperCase()} ${hostPort(side, proto)};branch=${branch}`;
}

/**
 * A Record-Route or Path entry naming one side of us; `lr` makes it a loose router (§16.6). For a
 * request to a SIPS URI it is a SIPS URI of our TLS socket (§16.6 step 4, RFC 5630 §4.1).
 */
export function routeEntry(side: LocalSide, proto: SipProto, extra = "", sips = false): string {
  if (sips) return `<sips:${hostPort(side, "tls")};lr${extra}>`;
  return `<sip:${hostPort(side, proto)}${transportParam(proto)};lr${extra}>`;
}

/** Every branch we generate starts with this, so answers to our requests are recognised. */
const OUR_BRANCH = `${MAGIC_COOKIE}es`;

/** Random bytes drawn in batches, so a branch does not cost a call into the system's source. */
const RANDOM = new Uint8Array(4096);
let randomAt = RANDOM.length;

/**
 * A fresh branch for a client transaction (RFC 3261 §8.1.1.7): random, so an outsider who saw
 * one cannot guess the next and forge an answer to it.
 */
export function newBranch(): string {
  if (randomAt + 8 > RANDOM.length) {
    crypto.getRandomValues(RANDOM);
    randomAt = 0;
  }
  let out = OUR_BRANCH;
  for (let i = 0; i < 8; i++) out += (RANDOM[randomAt++]! | 0x100).toString(16).slice(1);
  return out;
}

/**
 * A branch for an ACK to a 2xx forwarded without a transaction: derived from the incoming one so
 * that retransmitted ACKs carry the same branch (RFC 3261 §16.11).
 */
export function statelessBranch(msg: SipMessage): string {
  const basis = `${msg.vias[0]?.branch ?? ""}|${msg.callId}|${msg.cseq.seq}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < basis.length; i++) h = Math.imul(h ^ basis.charCodeAt(i), 0x01000193);
  return `${OUR_BRANCH}a${(h >>> 0).toString(36)}`;
}

/** Max-Forwards handling (RFC 3261 §16.3 step 3, §16.6 step 3). */
export function maxForwardsEdit(msg: SipMessage): Edit | Rejection {
  const mf = msg.maxForwards;
  if (mf === undefined) return { op: "append", name: "Max-Forwards", value: "70" };
  if (mf <= 0) return { status: 483, reason: reasonPhrase(483) };
  const index = msg.headers.findIndex((h) => h.name === "max-forwards");
  return { op: "replace", index, value: String(mf - 1) };
}

/** The outcome of Route processing (RFC 3261 §16.4, §16.12). */
export interface RouteDecision {
  /** Route entries of ours that were removed (and the sides they named). */
  readonly removed: readonly Side[];
  /** The URI to send to: the next Route if any, else the Request-URI. */
  readonly next: string;
  /** A `received` address recorded in our Path entry (RFC 3327 with NAT), to send to instead. */
  readonly received: string | undefined;
  readonly edits: readonly Edit[];
}

/**
 * Where a routed request goes out of side `out`: the next hop, or the address our Path entry
 * recorded (`received`, with its transport) when there was one.
 */
export function routeTarget(decision: RouteDecision, out: Side): Target {
  const forced = decision.received ? parseUri(decision.received) : undefined;
  if (!forced) return { out, uri: decision.next };
  return {
    out,
    uri: decision.next,
    peer: { host: forced.host, port: forced.port ?? 5060 },
    ...(protoNamed(forced.params.transport) && { proto: protoNamed(forced.params.transport)! }),
  };
}

/**
 * Removes our own Route entries, repairing a strict router's rewrite first (§16.4): when the
 * Request-URI is ours, the last Route holds the real one.
 */
export function looseRoute(msg: SipMessage, sides: LocalSides): RouteDecision {
  const routes = getHeaderValues(msg, "route");
  const edits: Edit[] = [];
  let uri = msg.uri;
  const reqUri = parseUri(uri);
  if (routes.length > 0 && reqUri && localRole(sides, reqUri.host, reqUri.port) && !reqUri.user) {
    const last = parseNameAddr(routes[routes.length - 1] ?? "");
    if (last) {
      uri = last.uri;
      routes.pop();
      edits.push({ op: "set-uri", uri });
    }
  }
  const removed: Side[] = [];
  let received: string | undefined;
  while (routes.length > 0) {
    const entry = parseNameAddr(routes[0] ?? "");
    const u = entry && parseUri(entry.uri);
    const side = u && localRole(sides, u.host, u.port);
    if (!u || !side) break;
    removed.push(side);
    // The value is a URI escaped into a parameter (`%3Btransport%3Dtcp`, as Kamailio's path module).
    // Only the first of ours counts: that one we wrote; one below it came with the REGISTER.
    if (u.params.received && received === undefined && removed.length === 1) {
      received = unescapeParam(u.params.received);
    }
    routes.shift();
  }
  if (removed.length > 0 || edits.length > 0) {
    edits.push({ op: "remove-all", name: "route" });
    if (routes.length > 0) edits.push({ op: "prepend", name: "Route", value: routes.join(", ") });
  }
  const next = routes.length > 0 ? (parseNameAddr(routes[0] ?? "")?.uri ?? uri) : uri;
  return { removed, next, received, edits };
}

/** Undoes %XX escapes in a URI parameter value (RFC 3261 §25.1 `escaped`); never throws. */
function unescapeParam(value: string): string {
  return value.replace(
    /%([0-9A-Fa-f]{2})/g,
    (_, hex: string) => String.fromCharCode(parseInt(hex, 16)),
  );
}

/** What the proxy decided for one forwarded request (RFC 3261 §16.6). */
export interface Forwarding {
  readonly msg: SipMessage;
  /** Where the request came from, over which transport, on which side. */
  readonly source: Peer;
  readonly inSide: LocalSide;
  readonly inProto: SipProto;
  /** The side and transport it leaves by. */
  readonly outSide: LocalSide;
  readonly outProto: SipProto;
  /** The route's own edits (Max-Forwards, Route, SDP body, script headers). */
  readonly edits: readonly Edit[];
  readonly recordRoute: boolean;
  readonly path: boolean;
  readonly branch: string;
  /**
   * Topology hiding's edits (topology_hiding.ts) when the request leaves by a hiding side: they
   * replace `edits` (filtered there), and only our outgoing side's Record-Route is added.
   */
  readonly hidden?: readonly Edit[];
}

/**
 * Every edit a forwarded request gets, in order: `received`/`rport` on the sender's Via, the
 * route's edits, Record-Route (two entries when crossing sides, each naming the side it faces:
 * top = the downstream one), a Path entry (RFC 3327) and our Via on top; an initial request from
 * outside loses every Route header.
 */
export function forwardEdits(f: Forwarding): Edit[] {
  const edits: Edit[] = [];
  const received = f.hidden ? undefined : receivedEdit(f.msg, f.source);
  if (received) edits.push(received);
  edits.push(...f.hidden ?? f.edits);
  // An initial request from outside goes only where we address it: a Route set it brought would
  // let an outsider steer it on from the PBX (a PBX that proxies on Route follows it) to any
  // inside host. Last, so no route step or script edit can put one back.
  if (f.inSide.side === "external" && f.msg.toTag === undefined) {
    edits.push({ op: "remove-all", name: "route" });
  }
  if (f.recordRoute) {
    const sips = parseUri(f.msg.uri)?.scheme === "sips";
    if (!f.hidden) {
      const entry = routeEntry(f.inSide, f.inProto, "", sips && f.inProto === "tls");
      edits.push({ op: "prepend", name: "Record-Route", value: entry });
    }
    if (f.outSide.side !== f.inSide.side || f.hidden) {
      const entry = routeEntry(f.outSide, f.outProto, "", sips && f.outProto === "tls");
      edits.push({ op: "prepend", name: "Record-Route", value: entry });
    }
  }
  if (f.path) {
    // A Path entry naming us that came with the request is a forgery of ours: gone.
    const theirs = getHeaderValues(f.msg, "path").filter((entry) => !namesUs(entry, f));
    edits.push({ op: "remove-all", name: "path" });
    if (theirs.length > 0) edits.push({ op: "prepend", name: "Path", value: theirs.join(", ") });
    edits.push({ op: "prepend", name: "Path", value: pathEntry(f) });
  }
  edits.push({ op: "prepend", name: "Via", value: ourVia(f.outSide, f.outProto, f.branch) });
  return edits;
}

/** A Route, Record-Route or Path entry names one of our sides' addresses. */
function namesUs(entry: string, f: Forwarding): boolean {
  const uri = parseUri(parseNameAddr(entry)?.uri ?? "");
  if (!uri) return false;
  const bare = uri.host.startsWith("[") ? uri.host.slice(1, -1) : uri.host;
  const key = `${bare}:${uri.port ?? 5060}`;
  return f.inSide.names.has(key) || f.outSide.names.has(key);
}

/**
 * Our Path entry, recording where the registering phone really sent from. The URI is a parameter
 * value here: `;` and `=` are escaped (RFC 3261 §25.1), as in Kamailio's path module, and
 * looseRoute() unescapes them.
 */
function pathEntry(f: Forwarding): string {
  const src = `sip:${formatHostPort(f.source)}`;
  const via = f.inProto === "udp" ? src : `${src}%3Btransport%3D${f.inProto}`;
  return routeEntry(f.outSide, f.outProto, `;received=${via}`);
}
