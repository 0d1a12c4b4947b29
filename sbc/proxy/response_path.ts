/**
 * RFC 3261 §16.7, response processing: the answers and the timeout of a relayed request's client
 * transaction, back to the caller. A failure (≥ 300 or a timeout) runs the armed failure route
 * first (serial forking); an answer then goes through the call log, the media door, the script's
 * reply route, and out of the caller's server transaction.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { SipMessage } from "../message/sip_message.ts";
import { type Edit } from "../message/sip_message.ts";
import { serializeMessage, toBytes } from "../message/serialize.ts";
import {
  type ClientDelegate,
  type ClientTransaction,
  TIMEOUT,
  type TimeoutReason,
} from "../transaction/client_transaction.ts";
import type { ServerTransaction, ServerTransactions } from "../transaction/server_transaction.ts";
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

const log = getLogger(["edgesbc", "sip"]);

/** What the response path needs of the proxy core. */
export interface ResponsePathOptions {
  readonly servers: ServerTransactions;
  readonly media: MediaHooks | undefined;
  readonly calls: CallLog;
  readonly counters: SipCounters;
  /** The routing script's hooks in force now. */
  readonly hooks: () => RouteHooks;
  /** The client transaction a server transaction is relayed to now. */
  readonly downstreamOf: (server: ServerTransaction) => ClientTransaction | undefined;
  /** The proxy's own final answer (a timeout, a CANCEL) that ends the caller's request. */
  readonly endRequest: (
    ctx: SipContext,
    status: 408 | 487,
    how: CallEndKind,
    by: CallEnd["by"],
  ) => void;
}

/** The delegate of every client transaction the core starts. */
export class ResponsePath implements ClientDelegate {
  readonly #o: ResponsePathOptions;
  /** What each client transaction's answers go back to. */
  readonly #upstream = new WeakMap<ClientTransaction, Upstream>();

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
    const edits: Edit[] = [{ op: "remove-first-value", name: "via" }];
    const flags = up.ctx.replyMediaFlags;
    if (flags !== undefined) {
      const outcome = applyMedia(this.#o.media, reply, {
        from: tx.target.side,
        to: up.from,
        source: tx.target.dest,
        flags,
        inDialog: up.ctx.msg.toTag !== undefined,
      });
      if (outcome.kind === "body") edits.push({ op: "body", body: outcome.body });
    }
    this.#o.hooks().onReply?.(up.ctx, reply, edits);
    // A final answer ends the request: the route's state says so for later readers.
    if (reply.status >= 200) advance(up.ctx, REQUEST_STATE.answered);
    this.#o.servers.respond(up.server, reply.status, toBytes(serializeMessage(reply, edits)));
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
