/**
 * Dialog-bound routing: an in-dialog request from outside is relayed only when it belongs to a
 * dialog the SBC set up, and then only to the next hop the SBC recorded for it inside, whatever
 * its Request-URI and Route headers say. Answers create, confirm and fail the dialogs; requests
 * from the PBX refresh their target; a BYE ends them.
 *
 * Why state rather than a signed Record-Route: the media relay holds each call in this process
 * anyway, so a restart ends the calls whatever SIP remembers; topology hiding must map the
 * outside's view back to the PBX's (target, route set, Call-ID, From/To), which a token in the
 * Record-Route could only carry encrypted and longer on every message; and a lookup is cheaper
 * than a MAC (docs/security.md, docs/benchmarks.md).
 *
 * @module
 */
import { parseMessage } from "../message/message.ts";
import { serializeMessage } from "../message/serialize.ts";
import type { SipMessage } from "../message/sip_message.ts";
import type { SipContext } from "./context.ts";
import { contactUri, type Dialog, dialogOf, insideNextHop, insideRouteEdits } from "./dialog.ts";
import type { DialogTable } from "./dialog_table.ts";
import type { LocalSides } from "./local_address.ts";
import { looseRoute } from "./header_rules.ts";
import type { SendTarget } from "../transport/transport.ts";
import { insideViewEdits, outsideCallId, type TopologyHiding } from "./topology_hiding.ts";

/** Requests that may move the remote target (RFC 3261 §12.2, RFC 3311). */
const TARGET_REFRESH = new Set(["INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY", "REFER"]);

export interface DialogRoutingOptions {
  readonly table: DialogTable;
  readonly sides: LocalSides;
  /** The external interface's topology hiding, if on. */
  readonly hiding: TopologyHiding | undefined;
}

export class DialogRouting {
  readonly #o: DialogRoutingOptions;

  constructor(options: DialogRoutingOptions) {
    this.#o = options;
  }

  /**
   * Binds an in-dialog request to its dialog before it is relayed: from outside, sets the target
   * and Route to the recorded ones; false when it belongs to none (refuse it). Initial requests
   * and the PBX's requests pass (the PBX is trusted; the boundary check still applies).
   */
  bind(ctx: SipContext): boolean {
    const { msg, inbound } = ctx;
    if (msg.toTag === undefined) return true;
    const dialog = this.#o.table.match(msg, inbound.side);
    if (inbound.side === "internal") {
      if (dialog) {
        this.#refreshTarget(dialog, msg);
        this.#toOutsidePeer(ctx, dialog);
      }
    } else {
      if (!dialog) return false;
      ctx.target = { out: "internal", uri: insideNextHop(dialog) };
      ctx.edits.push(...insideRouteEdits(dialog));
      // The party moved (a NAT rebinding, a new connection), over the transport it used: never
      // from TLS or TCP down to UDP, where a spoofed source could take the PBX's requests, keys
      // in their SDP included, in cleartext.
      const { source, proto } = inbound;
      if (proto === dialog.outsidePeer.proto) {
        dialog.outsidePeer = { host: source.host, port: source.port, proto };
      }
    }
    if (dialog && msg.method === "BYE") this.#o.table.end(dialog);
    return true;
  }

  /**
   * The PBX's request goes to where the outside party really is (RFC 3581 with NAT, Kamailio's
   * nathelper): when nothing but the party's Contact is left to route on, its received address,
   * not the Contact's private one. A Route set after ours (an outside proxy) is followed as is.
   */
  #toOutsidePeer(ctx: SipContext, dialog: Dialog): void {
    const target = ctx.target;
    if (target === undefined || target.out !== "external" || target.peer !== undefined) return;
    if (looseRoute(ctx.msg, this.#o.sides).next !== target.uri) return;
    const { host, port, proto } = dialog.outsidePeer;
    ctx.target = { ...target, peer: { host, port }, proto };
  }

  /** An answer to a request relayed from `ctx.inbound.side` to `down`, on its way upstream. */
  answered(ctx: SipContext, down: SendTarget, reply: SipMessage): void {
    const { msg, inbound } = ctx;
    const from = inbound.side;
    const to = down.side;
    if (from === to) return;
    if (msg.toTag !== undefined) {
      // The PBX's 2xx to the outside party's re-INVITE may move its target.
      if (from === "external" && reply.status >= 200 && reply.status < 300) {
        const dialog = this.#o.table.match(msg, from);
        if (dialog) this.#refreshTarget(dialog, reply);
      }
      return;
    }
    if (reply.status >= 300) return this.failed(ctx);
    const hiding = from === "internal" ? this.#o.hiding : undefined;
    // The outside party: the caller as its request came in, or the callee where we reached it.
    const outside = from === "external"
      ? { host: inbound.source.host, port: inbound.source.port, proto: inbound.proto }
      : { host: down.dest.host, port: down.dest.port, proto: down.proto };
    const dialog = dialogOf(msg, from, reply, {
      sides: this.#o.sides,
      outsideCallId: hiding ? outsideCallId(hiding, msg.callId) : msg.callId,
      hidden: hiding !== undefined,
      outsidePeer: outside,
    });
    if (dialog) this.#o.table.add(dialog);
  }

  /**
   * An outside party's in-dialog request as the PBX knows its dialog (Call-ID, From, To), for
   * routing, media and the script to see; `msg` itself when hiding changed nothing.
   */
  insideView(msg: SipMessage): SipMessage {
    if (msg.toTag === undefined) return msg;
    const dialog = this.#o.table.match(msg, "external");
    const edits = dialog ? insideViewEdits(msg, dialog) : [];
    if (edits.length === 0) return msg;
    const parsed = parseMessage(serializeMessage(msg, edits));
    return parsed.ok ? parsed.value : msg;
  }

  /** The initial request failed (an answer >= 300, a timeout, a CANCEL): its early dialogs go. */
  failed(ctx: SipContext): void {
    if (ctx.msg.toTag === undefined) this.#o.table.failed(ctx.msg, ctx.inbound.side);
  }

  #refreshTarget(dialog: Dialog, msg: SipMessage): void {
    if (!TARGET_REFRESH.has(msg.method)) return;
    const target = contactUri(msg);
    if (target !== undefined) dialog.insideTarget = target;
  }
}
