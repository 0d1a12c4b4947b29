/**
 * RFC 3261 §16.7, response processing: the answers and the timeout of a relayed request's client
 * transaction, back to the caller. A failure (≥ 300 or a timeout) runs the armed failure route
 * first (serial forking); an answer then goes through the call log, the media door, the script's
 * reply route, and out of the caller's server transaction.
 *
 * A 2xx to an INVITE may come again after its client transaction has ended (the UAS retransmits
 * it until the ACK arrives, RFC 3261 §13.3.1.4). Step 5 of §16.7 forwards such a copy statelessly;
 * here it goes only where the INVITE came from, and only for 64*T1 after the first 2xx of an
 * INVITE this proxy forwarded: a response is never sent where its own Via headers say, or an
 * outsider could reach any inside address with a 200 whose top Via looks like ours.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { SipMessage } from "../message/sip_message.ts";
import { type Edit } from "../message/sip_message.ts";
import { serializeMessage, toBytes } from "../message/serialize.ts";
import {
  answersFrom,
  type AnswerSource,
  type ClientDelegate,
  type ClientTransaction,
  TIMEOUT,
  type TimeoutReason,
} from "../transaction/client_transaction.ts";
import type { ServerTransaction, ServerTransactions } from "../transaction/server_transaction.ts";
import type { Clock } from "../transaction/clock.ts";
import { TIMER } from "../transaction/timers.ts";
import type { SendTarget } from "../transport/transport.ts";
import { CALL_END, type CallEnd, type CallEndKind, type CallLog } from "./call_log.ts";
import {
  advance,
  type MediaHooks,
  REQUEST_STATE,
  type RouteHooks,
  type SipContext,
} from "./context.ts";
import { armedFailure, runFailureRoute, type Upstream } from "./failure_route.ts";
import { applyMedia } from "./media_seam.ts";
import type { SipCounters } from "./sip_counters.ts";
import type { DialogRouting } from "./dialog_routing.ts";
import type { LocalSides } from "./local_address.ts";
import { routeEntry, untrustedIdentityEdits } from "./header_rules.ts";
import { inNetworks } from "../../config/cidr.ts";
import type { Cidr } from "../../config/config.ts";
import {
  hiddenAnswerEdits,
  hiddenBodyEdit,
  restoreEdits,
  type TopologyHiding,
} from "./topology_hiding.ts";

const log = getLogger(["edgesbc", "sip"]);

/** What the response path needs of the proxy core. */
export interface ResponsePathOptions {
  readonly clock: Clock;
  readonly servers: ServerTransactions;
  readonly media: MediaHooks | undefined;
  readonly calls: CallLog;
  readonly counters: SipCounters;
  /** Where answers create, confirm, refresh or fail dialogs. */
  readonly dialogs: DialogRouting;
  /** The external interface's topology hiding, if on. */
  readonly hiding: TopologyHiding | undefined;
  readonly sides: LocalSides;
  /** Outside sources whose answers may assert an identity (`external.trusted`). */
  readonly trusted: readonly Cidr[];
  /** The routing script's hooks in force now. */
  readonly hooks: () => RouteHooks;
  /** The client transaction a server transaction is relayed to now. */
  readonly downstreamOf: (server: ServerTransaction) => ClientTransaction | undefined;
  /** The proxy's own final answer (a timeout, a CANCEL) that ends the caller's request. */
  /** A 2xx on its way to the sender of `ctx` (REGISTER bindings are learnt from it). */
  readonly accepted?: (ctx: SipContext, reply: SipMessage) => void;
  readonly endRequest: (
    ctx: SipContext,
    status: 408 | 487,
    how: CallEndKind,
    by: CallEnd["by"],
  ) => void;
}

/** Where late copies of a forwarded 2xx go, and what went there the first time. */
interface LateAnswer {
  readonly target: SendTarget;
  /** Where the INVITE went: only from there may a copy come. */
  readonly downstream: SendTarget;
  /** The 2xx as forwarded: a retransmission is the same answer, so it goes out the same. */
  readonly bytes: Uint8Array;
  readonly timer: number;
}

/** The delegate of every client transaction the core starts. */
export class ResponsePath implements ClientDelegate {
  readonly #o: ResponsePathOptions;
  /** What each client transaction's answers go back to. */
  readonly #upstream = new WeakMap<ClientTransaction, Upstream>();
  /** Where late copies of each forwarded INVITE's 2xx go, by the branch we sent it with. */
  readonly #late2xx = new Map<string, LateAnswer>();

  constructor(options: ResponsePathOptions) {
    this.#o = options;
  }

  /** Answers of `client` go to `up`. */
  link(client: ClientTransaction, up: Upstream): void {
    this.#upstream.set(client, up);
  }

  onResponse(tx: ClientTransaction, reply: SipMessage): void {
    const up = this.#upstream.get(tx);
    if (!up) return;
    // A failure route may try another destination before the caller hears of the failure.
    if (reply.status >= 300 && armedFailure(up, this.#o.hooks())) {
      void this.#runFailure(up, reply.status, reply).then((again) => {
        if (!again) this.#sendUpstream(tx, up, reply);
      });
      return;
    }
    this.#sendUpstream(tx, up, reply);
  }

  /**
   * Where a 2xx whose client transaction is gone goes: the caller of an INVITE this proxy
   * forwarded and answered with a 2xx less than 64*T1 ago; undefined for anything else.
   */
  late2xx(msg: SipMessage, source: AnswerSource): LateAnswer | undefined {
    if (msg.method !== "INVITE" || msg.status < 200 || msg.status >= 300) return undefined;
    const branch = msg.vias[0]?.branch;
    const late = branch === undefined ? undefined : this.#late2xx.get(branch);
    return late && answersFrom(late.downstream, source) ? late : undefined;
  }

  /** Forgets every late-2xx route and its timer. */
  close(): void {
    for (const { timer } of this.#late2xx.values()) this.#o.clock.clearTimer(timer);
    this.#late2xx.clear();
  }

  onTimeout(tx: ClientTransaction, reason: TimeoutReason): void {
    const up = this.#upstream.get(tx);
    if (!up) return;
    this.#o.counters.timeouts++;
    // Debug: the call's end line says so at info.
    log.debug("{method} {callId} to {peer} timed out ({reason})", {
      method: tx.method,
      callId: up.ctx.msg.callId,
      peer: `${tx.target.dest.host}:${tx.target.dest.port}`,
      reason,
    });
    const answer = () =>
      reason === TIMEOUT.cancelled
        ? this.#o.endRequest(up.ctx, 487, CALL_END.cancel, up.from)
        : this.#o.endRequest(up.ctx, 408, CALL_END.timeout, "sbc");
    if (reason !== TIMEOUT.cancelled && armedFailure(up, this.#o.hooks())) {
      void this.#runFailure(up, 408, undefined).then((again) => again || answer());
    } else answer();
  }

  #sendUpstream(tx: ClientTransaction, up: Upstream, reply: SipMessage): void {
    // Before the media: a final answer ≥ 300 deletes the session, and with it the counters.
    this.#o.calls.finalAnswer(up.ctx.msg, reply.status, {
      from: tx.target.side,
      caller: up.from,
      cancelled: up.server.cancelled,
    });
    this.#o.dialogs.answered(up.ctx, tx.target, reply);
    const edits = this.#headerEdits(tx, up, reply);
    const flags = up.ctx.replyMediaFlags;
    if (flags !== undefined) {
      // Under the Call-ID the media was offered with (hiding may show another one outside).
      const outcome = applyMedia(this.#o.media, reply, {
        callId: up.ctx.msg.callId,
        from: tx.target.side,
        to: up.from,
        source: tx.target.dest,
        trustedSource: tx.target.side === "external" &&
          inNetworks(tx.target.dest.host, this.#o.trusted),
        flags,
        inDialog: up.ctx.msg.toTag !== undefined,
        hideAddresses: up.from === "external" && this.#o.hiding !== undefined,
      });
      if (outcome.kind === "body") edits.push({ op: "body", body: outcome.body });
    }
    this.#o.hooks().onReply?.(up.ctx, reply, edits);
    if (reply.status >= 200 && reply.status < 300) this.#o.accepted?.(up.ctx, reply);
    const hiding = up.from === "external" ? this.#o.hiding : undefined;
    const body = hiding && hiddenBodyEdit(hiding, reply, edits);
    if (body) edits.push(body);
    // A final answer ends the request: the route's state says so for later readers.
    if (reply.status >= 200) advance(up.ctx, REQUEST_STATE.answered);
    const bytes = toBytes(serializeMessage(reply, edits));
    if (tx.invite && reply.status < 300 && reply.status >= 200) {
      this.#rememberLate2xx(tx, up, bytes);
    }
    this.#o.servers.respond(up.server, reply.status, bytes);
  }

  /**
   * Our Via off an answer; with topology hiding, the answer made to match the request as its
   * sender sent it (Vias, Call-ID, From, To) when either way hid or mapped it, and nothing of
   * the inside in what goes out by the external side.
   */
  #headerEdits(tx: ClientTransaction, up: Upstream, reply: SipMessage): Edit[] {
    // RFC 3325 §5 holds for answers too: an outsider's 200 may not assert who answered.
    const untrusted = tx.target.side === "external" && up.from === "internal" &&
        !inNetworks(tx.target.dest.host, this.#o.trusted)
      ? untrustedIdentityEdits(reply)
      : [];
    return [...this.#shownEdits(tx, up, reply), ...untrusted];
  }

  /** The answer's Vias and, with topology hiding, what each side may see of the other. */
  #shownEdits(tx: ClientTransaction, up: Upstream, reply: SipMessage): Edit[] {
    const hiding = this.#o.hiding;
    const mapped = up.ctx.upstream !== up.ctx.msg;
    const hidDown = hiding !== undefined && tx.target.side === "external" && up.from !== "external";
    const insideRecordRoute = hidDown && up.ctx.recordRoute
      ? {
        sides: this.#o.sides,
        internalEntry: routeEntry(this.#o.sides.internal, up.ctx.inbound.proto),
      }
      : undefined;
    const restore = mapped || hidDown
      ? restoreEdits(reply, up.ctx.upstream, insideRecordRoute)
      : undefined;
    if (hiding === undefined || up.from !== "external") {
      return restore ?? [{ op: "remove-first-value", name: "via" }];
    }
    const hidden = hiddenAnswerEdits(hiding, this.#o.sides, reply, up.server.replyTo.proto);
    // The restored values last: they are what the outside party sent.
    return [{ op: "remove-first-value", name: "via" }, ...hidden, ...restore ?? []];
  }

  #rememberLate2xx(tx: ClientTransaction, up: Upstream, bytes: Uint8Array): void {
    if (this.#late2xx.has(tx.branch)) return;
    const timer = this.#o.clock.setTimer(() => this.#late2xx.delete(tx.branch), TIMER.B);
    this.#late2xx.set(tx.branch, {
      target: up.server.replyTo,
      downstream: tx.target,
      bytes,
      timer,
    });
  }

  #runFailure(up: Upstream, status: number, reply: SipMessage | undefined): Promise<boolean> {
    return runFailureRoute(up, status, reply, {
      hooks: this.#o.hooks(),
      downstream: () => this.#o.downstreamOf(up.server),
      onError: (name, err) => {
        this.#o.counters.routeErrors++;
        log.error("Failure route {name} for {callId} failed: {err}", {
          name,
          callId: up.ctx.msg.callId,
          err: err instanceof Error ? err.message : `${err}`,
        });
      },
    });
  }
}
