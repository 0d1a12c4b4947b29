/**
 * A dialog the SBC set up between a party outside and the PBX (RFC 3261 §12), as the SBC records
 * it: enough to send the outside party's in-dialog requests to the next hop the SBC learnt
 * inside, never to one the request names, and to restore what topology hiding rewrote.
 *
 * @module
 */
import type { Side, SipProto } from "../../config/config.ts";
import { getHeader, getHeaderValues } from "../message/message.ts";
import { parseNameAddr } from "../message/header_codecs.ts";
import type { Edit, SipMessage } from "../message/sip_message.ts";
import { parseUri } from "../message/uri.ts";
import { localRole, type LocalSides } from "./local_address.ts";

export interface Dialog {
  /** The Call-ID as the PBX knows it, and as the outside sees it (different when hidden). */
  readonly insideCallId: string;
  readonly outsideCallId: string;
  /** The tag of the PBX's party and of the outside party. */
  readonly insideTag: string;
  readonly outsideTag: string;
  /** From/To values (without tag) of each party as the PBX knows them. */
  readonly insideParty: string;
  readonly outsideParty: string;
  /** The PBX's remote target (its Contact URI, RFC 3261 §12.1); a target refresh moves it. */
  insideTarget: string;
  /** The route set in front of the PBX's target, below our own entries (its Record-Routes). */
  readonly insideRoute: readonly string[];
  /** A 2xx confirmed it; until then it is early (RFC 3261 §12). */
  confirmed: boolean;
  /** Topology hiding changed its Call-ID, From or To outside: requests from there map back. */
  readonly hidden: boolean;
  /**
   * Where the outside party's SIP really comes from (behind NAT, not its Contact): the PBX's
   * requests to it go there. Moved by each of its requests (a NAT rebinding).
   */
  outsidePeer: OutsidePeer;
}

/** An outside party's address and transport as seen on the wire. */
export interface OutsidePeer {
  readonly host: string;
  readonly port: number;
  readonly proto: SipProto;
}

/** How the SBC presents a new dialog outside. */
export interface DialogView {
  readonly sides: LocalSides;
  /** The Call-ID the outside sees. */
  readonly outsideCallId: string;
  /** Topology hiding rewrote the dialog's headers outside. */
  readonly hidden: boolean;
  /** Where the outside party's SIP comes from. */
  readonly outsidePeer: OutsidePeer;
}

/** Methods whose answer with a To tag creates a dialog (RFC 3261 §12, RFC 6665 §4.1). */
const DIALOG_METHODS = new Set(["INVITE", "SUBSCRIBE"]);

/**
 * The dialog an answer creates: a 101-299 with a To tag to an initial INVITE or SUBSCRIBE that
 * crossed from `from` to the other side; undefined for any other answer.
 */
export function dialogOf(
  request: SipMessage,
  from: Side,
  reply: SipMessage,
  view: DialogView,
): Dialog | undefined {
  const { sides, outsideCallId, hidden, outsidePeer } = view;
  if (request.toTag !== undefined || !DIALOG_METHODS.has(request.method)) return undefined;
  if (reply.status <= 100 || reply.status >= 300) return undefined;
  const toTag = reply.toTag;
  const fromTag = request.fromTag;
  if (toTag === undefined || fromTag === undefined) return undefined;
  const from_ = withoutTag(getHeader(request, "from") ?? "");
  const to = withoutTag(getHeader(request, "to") ?? "");
  // The PBX is the caller: its Contact and Record-Routes are in its request (UAS route set,
  // §12.1.1). The PBX answers: they are in its answer, the route set reversed (§12.1.2).
  const inside = from === "internal"
    ? { msg: request, route: ownRoutesRemoved(getHeaderValues(request, "record-route"), sides) }
    : {
      msg: reply,
      route: aboveOurs(getHeaderValues(reply, "record-route"), sides).reverse(),
    };
  const target = contactUri(inside.msg);
  if (target === undefined) return undefined;
  return {
    insideCallId: request.callId,
    outsideCallId,
    insideTag: from === "internal" ? fromTag : toTag,
    outsideTag: from === "internal" ? toTag : fromTag,
    insideParty: from === "internal" ? from_ : to,
    outsideParty: from === "internal" ? to : from_,
    insideTarget: target,
    insideRoute: inside.route,
    confirmed: reply.status >= 200,
    hidden,
    outsidePeer,
  };
}

/** The URI of a message's first Contact; undefined when it has none that parses. */
export function contactUri(msg: SipMessage): string | undefined {
  const value = getHeader(msg, "contact");
  return value === undefined ? undefined : parseNameAddr(value)?.uri;
}

/**
 * The edits that send an outside party's in-dialog request to the PBX by the dialog's record:
 * the PBX's target as Request-URI and its route set as Route, whatever the request named.
 */
export function insideRouteEdits(dialog: Dialog): Edit[] {
  return [
    { op: "set-uri", uri: dialog.insideTarget },
    { op: "remove-all", name: "route" },
    ...dialog.insideRoute.length > 0
      ? [{ op: "prepend" as const, name: "Route", value: dialog.insideRoute.join(", ") }]
      : [],
  ];
}

/** The URI the dialog's next request to the PBX is sent to: its first Route, else the target. */
export function insideNextHop(dialog: Dialog): string {
  const first = dialog.insideRoute[0];
  return (first === undefined ? undefined : parseNameAddr(first)?.uri) ?? dialog.insideTarget;
}

/** Record-Route entries above the first one naming us, top first (the PBX's own). */
function aboveOurs(entries: readonly string[], sides: LocalSides): string[] {
  const ours = entries.findIndex((entry) => isOurs(entry, sides));
  return ours < 0 ? [] : entries.slice(0, ours);
}

/** Record-Route entries with ours taken out, in order. */
function ownRoutesRemoved(entries: readonly string[], sides: LocalSides): string[] {
  return entries.filter((entry) => !isOurs(entry, sides));
}

function isOurs(entry: string, sides: LocalSides): boolean {
  const uri = parseUri(parseNameAddr(entry)?.uri ?? "");
  return uri !== undefined && localRole(sides, uri.host, uri.port) !== undefined;
}

/** A From or To value without its tag parameter. */
export function withoutTag(value: string): string {
  const gt = value.lastIndexOf(">");
  const head = gt < 0 ? "" : value.slice(0, gt + 1);
  const tail = gt < 0 ? value : value.slice(gt + 1);
  return head + tail.replace(/;\s*tag\s*=\s*[^;]*/i, "").trimEnd();
}
