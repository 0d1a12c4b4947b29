/**
 * The transaction-stateful proxy core (RFC 3261 §16): receives parsed messages, matches them to
 * transactions, runs the routing pipeline for new requests, and forwards answers upstream.
 */
import { getLogger } from "@logtape/logtape";
import type { Config, Role } from "../../config/config.ts";
import { CALL_END, type CallEnd, type CallEndKind, CallLog, isInitialInvite } from "./call_log.ts";
import type { Clock } from "../transaction/clock.ts";
import type { MediaOutcome } from "../../rtp/relay_types.ts";
import { type MediaHooks, newContext, type ProxyActions, type SipContext } from "./context.ts";
import { resolveHost, resolveUri } from "../transport/destination.ts";
import { mediaMessage } from "./media_message.ts";
import { defaultProto, type LocalSides, localSides, otherSide } from "./local_address.ts";
import { type Edit, parseMessage, type SipMessage } from "../message/message.ts";
import { serializeMessage, toBytes } from "../message/serialize.ts";
import {
  isOurBranch,
  newBranch,
  ourVia,
  receivedEdit,
  replyAddress,
  routeEntry,
  statelessBranch,
  viaAddress,
} from "./header_rules.ts";
import { buildResponse } from "../message/response.ts";
import type { SendTarget } from "../transaction/transaction.ts";
import {
  type ClientTransaction,
  ClientTransactions,
  TIMEOUT,
  type TimeoutReason,
} from "../transaction/client_transaction.ts";
import { type ServerTransaction, ServerTransactions } from "../transaction/server_transaction.ts";
import type { Inbound } from "../transport/transport.ts";

const log = getLogger(["edgesbc", "sip"]);

/** Runs a request through routing: the bridge pipeline or a user script. */
export type RequestRoute = (ctx: SipContext, actions: ProxyActions) => Promise<void>;
/** Script callbacks beyond the request route. */
export interface RouteHooks {
  /** Runs on every answer before it is forwarded (onreply_route); may add edits. */
  readonly onReply?: (ctx: SipContext, reply: SipMessage, edits: Edit[]) => void;
  /** Runs the failure route `name` armed by t_on_failure; may relay again (serial forking). */
  readonly onFailure?: (name: string, ctx: SipContext, reply: SipMessage | undefined) => unknown;
}

export interface CoreOptions {
  readonly config: Config;
  readonly clock: Clock;
  /** Sends bytes out of an interface (the transport). */
  readonly send: (target: SendTarget, bytes: Uint8Array) => Promise<boolean>;
  readonly route: RequestRoute;
  readonly media: MediaHooks | undefined;
  /** Wall-clock ms for the call log; default Date.now. */
  readonly now?: () => number;
}

/** Counters for the admin API and metrics. */
export interface SipCounters {
  requests: number;
  responses: number;
  parseErrors: number;
  rejected: number;
  timeouts: number;
  routeErrors: number;
}

/** What a client transaction remembers of its upstream side. */
interface Upstream {
  readonly server: ServerTransaction;
  readonly ctx: SipContext;
  readonly from: Role;
}

export class ProxyCore implements ProxyActions {
  readonly config: Config;
  readonly sides: LocalSides;
  readonly counters: SipCounters = {
    requests: 0,
    responses: 0,
    parseErrors: 0,
    rejected: 0,
    timeouts: 0,
    routeErrors: 0,
  };
  #send: CoreOptions["send"];
  #servers: ServerTransactions;
  #clients: ClientTransactions;
  #route: RequestRoute;
  #hooks: RouteHooks = {};
  #media: MediaHooks | undefined;
  #calls: CallLog;
  #draining = false;

  constructor(options: CoreOptions) {
    this.config = options.config;
    this.sides = localSides(options.config);
    this.#send = options.send;
    this.#servers = new ServerTransactions(options.clock, options.send);
    this.#clients = new ClientTransactions(options.clock, options.send);
    this.#route = options.route;
    this.#media = options.media;
    const media = options.media;
    this.#calls = new CallLog({
      traffic: media && ((callId) => media.traffic(callId)),
      ...(options.now && { now: options.now }),
    });
  }

  /** Swaps the routing (script reload); transactions in progress keep their contexts. */
  setRoute(route: RequestRoute, hooks: RouteHooks = {}): void {
    this.#route = route;
    this.#hooks = hooks;
  }

  /** Stops accepting new dialogs (SIGTERM drain): initial INVITEs get 503. */
  drain(): void {
    this.#draining = true;
  }

  get transactions(): { server: number; client: number } {
    return { server: this.#servers.size, client: this.#clients.size };
  }

  /** Entry point for every received message. Never throws. */
  receive(inbound: Inbound): void {
    const parsed = parseMessage(inbound.data);
    if (!parsed.ok) {
      this.counters.parseErrors++;
      const { error } = parsed;
      const partial = error.partial;
      if (partial && partial.kind === "request" && partial.method !== "ACK") {
        const reason = error.message.slice(0, 120).replace(/[\r\n]/g, " ");
        this.#calls.refused(partial, {
          side: inbound.iface,
          source: inbound.source,
          status: 400,
          reason,
        });
        this.#sendStateless(partial, inbound, 400, reason);
      } else {
        // Not at info: anyone can send garbage, and each datagram would be a line.
        log.debug("Dropping malformed message from {peer}: {error}", {
          peer: `${inbound.source.host}:${inbound.source.port}`,
          error: error.message,
        });
      }
      return;
    }
    const msg = parsed.value;
    if (msg.kind === "response") this.#onResponse(msg, inbound);
    else void this.#onRequest(msg, inbound);
  }

  #replyTarget(msg: SipMessage, inbound: Inbound): SendTarget {
    return {
      iface: inbound.iface,
      proto: inbound.proto,
      dest: replyAddress(msg.vias[0], inbound.source, inbound.proto),
      connection: inbound.connection,
    };
  }

  #sendStateless(req: SipMessage, inbound: Inbound, status: number, reason: string): void {
    // RFC 3261 §8.2.6.2: every answer but 100 carries a To tag; a fixed one keeps retransmitted
    // requests answered alike.
    const text = buildResponse(req, status, reason, status > 100 ? { toTag: "es0" } : {});
    void this.#send(this.#replyTarget(req, inbound), toBytes(text));
  }

  async #onRequest(msg: SipMessage, inbound: Inbound): Promise<void> {
    this.counters.requests++;
    const match = this.#servers.receive(msg, this.#replyTarget(msg, inbound));
    switch (match.kind) {
      case "retransmission":
      case "ack-absorbed":
        return;
      case "cancel":
        return this.#onCancel(match.tx, match.invite);
      case "ack-2xx":
        return await this.#runRoute(newContext(msg, inbound, undefined));
      case "new":
        break;
    }
    const tx = match.tx;
    if (msg.method === "INVITE") {
      // RFC 3261 §16.2: a stateful proxy answers 100 at once so the caller stops retransmitting.
      this.#servers.respond(tx, 100, toBytes(buildResponse(msg, 100, "Trying")));
      if (this.#draining && !msg.toTag) {
        return this.reply(newContext(msg, inbound, tx), 503, "Shutting Down");
      }
      if (!msg.toTag) this.#calls.started(msg, inbound.iface);
    }
    // Before routing: the route hands the BYE to the relay, which forgets the call's counters.
    if (msg.method === "BYE") this.#calls.ended(msg.callId, CALL_END.bye, inbound.iface);
    await this.#runRoute(newContext(msg, inbound, tx));
  }

  async #runRoute(ctx: SipContext): Promise<void> {
    try {
      await this.#route(ctx, this);
    } catch (err) {
      this.counters.routeErrors++;
      log.error("Routing {method} {callId} failed: {err}", {
        method: ctx.msg.method,
        callId: ctx.msg.callId,
        err: err instanceof Error ? err.message : `${err}`,
      });
      if (!ctx.done && ctx.msg.method !== "ACK") this.reply(ctx, 500, "Server Internal Error");
      return;
    }
    // A route that neither relayed nor answered leaves the caller waiting: answer for it.
    if (!ctx.done && ctx.tx) this.reply(ctx, 500, "No Route Decision");
    // A dropped request (KSR.x.drop) keeps no transaction alive: nothing would end it.
    const tx = ctx.tx;
    if (tx && tx.lastStatus < 200 && tx.downstream === undefined && !tx.cancelled) {
      this.#servers.terminate(tx);
      if (isInitialInvite(ctx.msg)) this.#calls.forget(ctx.msg.callId);
    }
  }

  /** CANCEL is hop by hop (RFC 3261 §16.10): answer it here, then cancel downstream. */
  #onCancel(cancelTx: ServerTransaction, invite: ServerTransaction | undefined): void {
    if (!invite) {
      this.#servers.respond(
        cancelTx,
        481,
        toBytes(buildResponse(cancelTx.request, 481, "Call/Transaction Does Not Exist")),
      );
      return;
    }
    this.#servers.respond(cancelTx, 200, toBytes(buildResponse(cancelTx.request, 200, "OK")));
    if (invite.lastStatus >= 200) return;
    invite.cancelled = true;
    const client = invite.downstream as ClientTransaction | undefined;
    if (client) this.#clients.cancel(client);
  }

  direction(ctx: SipContext): { from: Role; to: Role } {
    return { from: ctx.inbound.iface, to: ctx.target?.out ?? otherSide(ctx.inbound.iface) };
  }

  manageMedia(ctx: SipContext, flags: string): MediaOutcome {
    if (!this.#media) return { kind: "none" };
    const { from, to } = this.direction(ctx);
    const outcome = this.#media.manage({
      msg: mediaMessage(ctx.msg),
      from,
      to,
      source: ctx.inbound.source,
      flags,
      inDialog: ctx.msg.toTag !== undefined,
    });
    ctx.replyMediaFlags ??= flags;
    if (outcome.kind === "body") ctx.edits.push({ op: "body", body: outcome.body });
    return outcome;
  }

  /** Answers by the SBC's own decision: an answer >= 300 is a refusal, logged as one. */
  reply(
    ctx: SipContext,
    status: number,
    reason: string,
    headers?: readonly (readonly [string, string])[],
  ): void {
    if (ctx.done || ctx.msg.method === "ACK") return this.#answer(ctx, status, reason, headers);
    if (status >= 300) {
      const { iface: side, source } = ctx.inbound;
      this.#calls.refused(ctx.msg, { side, source, status, reason });
    }
    this.#answer(ctx, status, reason, headers);
  }

  /** The caller's initial INVITE transaction ends here, as `how`; before media is deleted. */
  #endCall(ctx: SipContext, how: CallEndKind, by: CallEnd["by"], status: number): void {
    if (isInitialInvite(ctx.msg)) this.#calls.ended(ctx.msg.callId, how, by, status);
  }

  #answer(
    ctx: SipContext,
    status: number,
    reason: string,
    headers?: readonly (readonly [string, string])[],
  ): void {
    if (ctx.done) return;
    ctx.done = true;
    if (ctx.msg.method === "ACK") return;
    if (status >= 300) this.counters.rejected++;
    const tx = ctx.tx;
    const text = buildResponse(ctx.msg, status, reason, {
      ...(status > 100 && { toTag: tx?.localTag ?? "es0" }),
      ...(headers && { headers }),
    });
    if (tx) this.#servers.respond(tx, status, toBytes(text));
    else this.#sendStateless(ctx.msg, ctx.inbound, status, reason);
    if (
      status >= 300 && ctx.msg.method === "INVITE" && !ctx.msg.toTag &&
      ctx.replyMediaFlags !== undefined
    ) {
      this.#media?.deleteCall(ctx.msg.callId);
    }
  }

  async relay(ctx: SipContext): Promise<boolean> {
    if (ctx.done) return false;
    const target = ctx.target;
    if (!target) {
      this.reply(ctx, 500, "No Route Target");
      return false;
    }
    const out = this.sides[target.out];
    const fallback = target.proto ?? defaultProto(out);
    const dest = target.peer
      ? await resolveHost(target.peer.host, target.peer.port, fallback)
      : await resolveUri(target.uri, fallback);
    if (!dest) {
      log.warn("Cannot resolve {uri} for {callId}", { uri: target.uri, callId: ctx.msg.callId });
      this.reply(ctx, 404, "Destination Not Resolvable");
      return false;
    }
    // A transport the outgoing side does not listen on falls back to the one it has.
    const proto = out.ports[dest.proto] !== undefined ? dest.proto : defaultProto(out);
    const { msg, inbound } = ctx;
    const edits: Edit[] = [];
    const received = receivedEdit(msg, inbound.source);
    if (received) edits.push(received);
    edits.push(...ctx.edits);
    const inSide = this.sides[inbound.iface];
    if (ctx.recordRoute) {
      // Two entries when crossing sides, each naming the side it faces (top: the downstream one).
      edits.push({ op: "prepend", name: "Record-Route", value: routeEntry(inSide, inbound.proto) });
      if (target.out !== inbound.iface) {
        edits.push({ op: "prepend", name: "Record-Route", value: routeEntry(out, proto) });
      }
    }
    if (ctx.path) {
      const host = inbound.source.host;
      const src = `sip:${host.includes(":") ? `[${host}]` : host}:${inbound.source.port}`;
      // The URI is a parameter value here: `;` and `=` are escaped (RFC 3261 §25.1), as in
      // Kamailio's path module, and looseRoute() unescapes them.
      const via = inbound.proto === "tcp" ? `${src}%3Btransport%3Dtcp` : src;
      edits.push({
        op: "prepend",
        name: "Path",
        value: routeEntry(out, proto, `;received=${via}`),
      });
    }
    const branch = msg.method === "ACK" ? statelessBranch(msg) : newBranch();
    edits.push({ op: "prepend", name: "Via", value: ourVia(out, proto, branch) });
    const bytes = toBytes(serializeMessage(msg, edits));
    const sendTo: SendTarget = { iface: target.out, proto, dest: dest.peer, connection: undefined };
    ctx.done = true;
    const server = ctx.tx;
    if (!server) return await this.#send(sendTo, bytes);
    if (server.cancelled) {
      ctx.done = false;
      this.#endCall(ctx, CALL_END.cancel, inbound.iface, 487);
      this.#answer(ctx, 487, "Request Terminated");
      return false;
    }
    const upstream: Upstream = { server, ctx, from: inbound.iface };
    server.downstream = this.#clients.start({
      branch,
      method: msg.method,
      bytes,
      target: sendTo,
      upstream,
      delegate: this.#delegate,
    });
    return true;
  }

  #delegate = {
    onResponse: (tx: ClientTransaction, reply: SipMessage) => this.#forwardUpstream(tx, reply),
    onTimeout: (tx: ClientTransaction, reason: TimeoutReason) => this.#onTimeout(tx, reason),
  };

  #onResponse(msg: SipMessage, inbound: Inbound): void {
    this.counters.responses++;
    const branch = msg.vias[0]?.branch;
    if (!branch) return;
    const handled = this.#clients.receive(msg, branch);
    if (handled) return;
    // A 2xx to INVITE whose transaction is gone is still forwarded (RFC 3261 §16.7 step 5).
    if (
      msg.method === "INVITE" && msg.status >= 200 && msg.status < 300 &&
      isOurBranch(branch)
    ) {
      const next = msg.vias[1];
      if (!next) return;
      const { peer, proto } = viaAddress(next);
      const bytes = toBytes(serializeMessage(msg, [{ op: "remove-first-value", name: "via" }]));
      void this.#send(
        { iface: otherSide(inbound.iface), proto, dest: peer, connection: undefined },
        bytes,
      );
    }
  }

  #forwardUpstream(tx: ClientTransaction, reply: SipMessage): void {
    const up = tx.upstream as Upstream;
    // A failure route may try another destination before the caller hears of the failure.
    if (reply.status >= 300 && this.#armedFailure(up)) {
      void this.#runFailure(up, reply.status, reply).then((again) => {
        if (!again) this.#sendUpstream(tx, up, reply);
      });
      return;
    }
    this.#sendUpstream(tx, up, reply);
  }

  #sendUpstream(tx: ClientTransaction, up: Upstream, reply: SipMessage): void {
    if (reply.status >= 200 && isInitialInvite(up.ctx.msg)) {
      const callId = up.ctx.msg.callId;
      if (reply.status < 300) this.#calls.answered(callId);
      else if (up.server.cancelled && reply.status === 487) {
        this.#endCall(up.ctx, CALL_END.cancel, up.from, 487);
      } else this.#endCall(up.ctx, CALL_END.final, tx.target.iface, reply.status);
    }
    const edits: Edit[] = [{ op: "remove-first-value", name: "via" }];
    const flags = up.ctx.replyMediaFlags;
    if (this.#media && flags !== undefined) {
      const outcome = this.#media.manage({
        msg: mediaMessage(reply),
        from: tx.target.iface,
        to: up.from,
        source: tx.target.dest,
        flags,
        inDialog: up.ctx.msg.toTag !== undefined,
      });
      if (outcome.kind === "body") edits.push({ op: "body", body: outcome.body });
    }
    this.#hooks.onReply?.(up.ctx, reply, edits);
    this.#servers.respond(up.server, reply.status, toBytes(serializeMessage(reply, edits)));
  }

  #armedFailure(up: Upstream): boolean {
    return up.ctx.callbacks.failure !== undefined && this.#hooks.onFailure !== undefined &&
      !up.server.cancelled;
  }

  /** Runs the armed failure route once; true when it relayed the request again (serial forking). */
  async #runFailure(up: Upstream, status: number, reply: SipMessage | undefined): Promise<boolean> {
    const ctx = up.ctx;
    const name = ctx.callbacks.failure;
    const run = this.#hooks.onFailure;
    if (name === undefined || !run) return false;
    delete ctx.callbacks.failure;
    const before = up.server.downstream;
    ctx.done = false;
    ctx.vars.set("$T_reply_code", status);
    try {
      await run(name, ctx, reply);
    } catch (err) {
      this.counters.routeErrors++;
      log.error("Failure route {name} for {callId} failed: {err}", {
        name,
        callId: ctx.msg.callId,
        err: err instanceof Error ? err.message : `${err}`,
      });
    }
    if (up.server.downstream !== before) return true;
    // The failure route answered by itself (e.g. sl_send_reply): nothing more to forward.
    return up.server.lastStatus >= 200;
  }

  #onTimeout(tx: ClientTransaction, reason: TimeoutReason): void {
    const up = tx.upstream as Upstream | undefined;
    if (!up) return;
    this.counters.timeouts++;
    // Debug: the call's end line says so at info.
    log.debug("{method} {callId} to {peer} timed out ({reason})", {
      method: tx.method,
      callId: up.ctx.msg.callId,
      peer: `${tx.target.dest.host}:${tx.target.dest.port}`,
      reason,
    });
    const answer = () => {
      up.ctx.done = false;
      if (reason === TIMEOUT.cancelled) {
        this.#endCall(up.ctx, CALL_END.cancel, up.from, 487);
        this.#answer(up.ctx, 487, "Request Terminated");
      } else {
        this.#endCall(up.ctx, CALL_END.timeout, "sbc", 408);
        this.#answer(up.ctx, 408, "Request Timeout");
      }
    };
    if (reason !== TIMEOUT.cancelled && this.#armedFailure(up)) {
      void this.#runFailure(up, 408, undefined).then((again) => again || answer());
    } else answer();
  }

  /** The relay dropped an answered call's media after the silence timeout. */
  mediaTimeout(callId: string): void {
    this.#calls.ended(callId, CALL_END.mediaTimeout, null);
  }

  /** Logs the calls still up as ended by shutdown (the relay must still be open), stops timers. */
  close(): void {
    this.#calls.endAll();
    this.#servers.close();
    this.#clients.close();
  }
}
