/**
 * The transaction-stateful proxy core (RFC 3261 §16): receives parsed messages, matches them to
 * transactions, runs the routing (the bridge pipeline or a script) for new requests, forwards
 * what the route decided, and passes answers upstream. Requests and answers enter the media relay
 * through one door (media_seam.ts `applyMedia`). The links between a server transaction and the
 * client transaction it started live here, typed, not on the transactions.
 */
import { getLogger } from "@logtape/logtape";
import { inNetworks } from "../../config/cidr.ts";
import type { Config, Side } from "../../config/config.ts";
import type { MediaOutcome } from "../../rtp/relay_types.ts";
import { parseMessage } from "../message/message.ts";
import { type ParseError, type SipMessage } from "../message/sip_message.ts";
import {
  buildResponse,
  reasonPhrase,
  STATELESS_TO_TAG,
  statelessResponse,
} from "../message/response.ts";
import { serializeMessage, toBytes } from "../message/serialize.ts";
import type { Clock } from "../transaction/clock.ts";
import {
  type BranchTimeouts,
  type ClientTransaction,
  ClientTransactions,
} from "../transaction/client_transaction.ts";
import { PbxPool } from "./pbx_pool.ts";
import { HEALTH_PING, PbxHealth } from "./pbx_health.ts";
import { CallLimits } from "./call_limits.ts";
import { type ServerTransaction, ServerTransactions } from "../transaction/server_transaction.ts";
import { peerKey } from "../transport/peer.ts";
import type { Inbound, Send } from "../transport/transport.ts";
import {
  advance,
  direction,
  isOpen,
  mediaFlags,
  type MediaHooks,
  newContext,
  type ProxyActions,
  REQUEST_STATE,
  type RequestRoute,
  type RouteHooks,
  type SipContext,
} from "./context.ts";
import {
  forwardEdits,
  newBranch,
  replyTarget,
  statelessBranch,
  untrustedIdentityEdits,
} from "./header_rules.ts";
import { type LocalSides, localSides } from "./local_address.ts";
import { resolveNextHop } from "./next_hop.ts";
import { CALL_END, type CallEnd, type CallEndKind, CallLog } from "./call_log.ts";
import { ResponsePath } from "./response_path.ts";
import { newSipCounters, type SipCounters } from "./sip_counters.ts";
import { applyMedia } from "./media_seam.ts";
import { LogLimiter } from "./log_limiter.ts";
import { DialogRouting } from "./dialog_routing.ts";
import { DialogTable } from "./dialog_table.ts";
import {
  hiddenBodyEdit,
  hiddenRequestEdits,
  type TopologyHiding,
  topologyHiding,
} from "./topology_hiding.ts";
import { SourceLimiter } from "./source_limiter.ts";
import { NatBindings } from "./nat_bindings.ts";
import { contactUri } from "./dialog.ts";
import { hostPort } from "./local_address.ts";
import { parseUri } from "../message/uri.ts";
import { getHeader } from "../message/message.ts";
import { parseNameAddr } from "../message/header_codecs.ts";
import { Boundary, type SideNetworks, sideNetworks } from "./side_networks.ts";
import { proxyRequireRefusal } from "./proxy_require.ts";
import { uriHeadersEdit } from "./uri_headers.ts";

const log = getLogger(["edgesbc", "sip"]);

/** The configured branch timeouts (`pbx.reply_timeout`, `pbx.ring_timeout`), in ms. */
function branchTimeouts(config: Config): BranchTimeouts {
  return { replyMs: config.pbx.replyTimeout * 1000, ringMs: config.pbx.ringTimeout * 1000 };
}

/** The end of a keepalive's branch, so its answer is told from any transaction's. */
const NAT_PING = "-nat";

/**
 * How long a registration lasts (RFC 3261 §10.3): the expires the PBX's 200 gives the Contact,
 * else its Expires header, else what the phone asked, else an hour.
 */
function registrationSeconds(request: SipMessage, reply: SipMessage): number {
  const fromContact = (msg: SipMessage) => {
    const value = getHeader(msg, "contact");
    const expires = value === undefined ? undefined : parseNameAddr(value)?.params.expires;
    return expires === undefined ? undefined : Number(expires);
  };
  const header = (msg: SipMessage) => {
    const value = getHeader(msg, "expires");
    return value === undefined ? undefined : Number(value);
  };
  const seconds = fromContact(reply) ?? header(reply) ?? fromContact(request) ?? header(request);
  return seconds !== undefined && Number.isFinite(seconds) ? seconds : 3600;
}

export interface CoreOptions {
  readonly config: Config;
  readonly clock: Clock;
  /** Sends bytes out of an interface (the transport). */
  readonly send: Send;
  readonly route: RequestRoute;
  readonly media: MediaHooks | undefined;
  /** Wall-clock ms for the call log; default Date.now. */
  readonly now?: () => number;
}

export class ProxyCore implements ProxyActions {
  /** The running config; `reconfigure` swaps it (a reload). */
  config: Config;
  readonly sides: LocalSides;
  readonly counters: SipCounters = newSipCounters();
  networks: SideNetworks;
  #boundary: Boundary;
  #send: Send;
  /** Log lines an outsider can cause, within a budget. */
  #refusals = new LogLimiter();
  /** Messages per second per untrusted outside address (Kamailio's pike). */
  #rates: SourceLimiter;
  readonly #clock: Clock;
  #servers: ServerTransactions;
  #clients: ClientTransactions;
  /** The client transaction a server transaction was relayed to (the way back: #responses). */
  #downstream = new WeakMap<ServerTransaction, ClientTransaction>();
  #responses: ResponsePath;
  #route: RequestRoute;
  #hooks: RouteHooks = {};
  #media: MediaHooks | undefined;
  #calls: CallLog;
  #dialogTable: DialogTable;
  #dialogs: DialogRouting;
  readonly #hiding: TopologyHiding | undefined;
  #draining = false;
  /** Phones registered from behind NAT, kept open with pings every `external.nat_ping` s. */
  readonly #nat = new NatBindings();
  #natTimer: number | undefined;
  /** The PBX targets and which are up; pinged by `#health`. */
  readonly pool: PbxPool;
  readonly #health: PbxHealth;
  readonly #limits: CallLimits;
  readonly #wallNow: () => number;

  constructor(options: CoreOptions) {
    this.config = options.config;
    this.sides = localSides(options.config);
    this.#clock = options.clock;
    this.#rates = new SourceLimiter({
      perSecond: options.config.sip.rateLimit,
      banMs: options.config.sip.banTime * 1000,
    });
    this.networks = sideNetworks(options.config);
    this.#boundary = new Boundary(this.networks);
    // Every message leaves through this one door, so no header can send one across the boundary.
    const send = this.#send = this.#guard(options.send);
    this.#servers = new ServerTransactions(options.clock, send);
    this.#clients = new ClientTransactions(options.clock, send);
    this.#clients.timeouts = branchTimeouts(options.config);
    const wallNow = this.#wallNow = options.now ?? Date.now;
    this.pool = new PbxPool(options.config.pbx.targets, options.config.pbx.health, wallNow());
    this.#health = new PbxHealth({
      pool: this.pool,
      clock: options.clock,
      send,
      side: this.sides.internal,
      branch: newBranch,
      now: wallNow,
      onTransition: ({ name, up }) =>
        up
          ? log.info("PBX {target} is up", { target: name })
          : log.warn("PBX {target} is down: no new call goes to it", { target: name }),
    });
    this.#limits = new CallLimits(options.config.limits);
    this.#route = options.route;
    const media = this.#media = options.media;
    this.#calls = new CallLog({
      traffic: media && ((callId) => media.traffic(callId)),
      ...(options.now && { now: options.now }),
    });
    const hiding = this.#hiding = topologyHiding(options.config, this.sides, this.networks);
    this.#dialogTable = new DialogTable({ clock: options.clock });
    this.#dialogs = new DialogRouting({ table: this.#dialogTable, sides: this.sides, hiding });
    this.#responses = new ResponsePath({
      clock: options.clock,
      dialogs: this.#dialogs,
      accepted: (ctx, reply) => this.#learnNatBinding(ctx, reply),
      hiding,
      sides: this.sides,
      trusted: options.config.external.trusted,
      servers: this.#servers,
      media,
      calls: this.#calls,
      counters: this.counters,
      hooks: () => this.#hooks,
      downstreamOf: (server) => this.#downstream.get(server),
      endRequest: (ctx, status, how, by) => this.#endRequest(ctx, status, how, by),
    });
  }

  /** `send`, refusing a destination the other side's networks own (networks per interface). */
  #guard(send: Send): Send {
    return (target, bytes) => {
      if (!this.#boundary.crosses(target.side, target.dest.host)) {
        return send(target, bytes);
      }
      this.counters.boundary++;
      this.#refusals.line((skipped) =>
        log.warn("Not sending to {peer} by the {side} interface: it is behind the other one", {
          peer: peerKey(target.dest),
          side: target.side,
          skipped,
        })
      );
      return Promise.resolve(false);
    };
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

  /** Dialogs the SBC set up that are alive or ending. */
  get dialogs(): number {
    return this.#dialogTable.size;
  }

  /** Entry point for every received message. Never throws. */
  receive(inbound: Inbound): void {
    if (!this.admits(inbound.side, inbound.source.host)) return;
    const parsed = parseMessage(inbound.data);
    if (!parsed.ok) return this.#onMalformed(parsed.error, inbound);
    const msg = parsed.value;
    if (msg.kind === "response") this.#onResponse(msg, inbound);
    else void this.#onRequest(msg, inbound);
  }

  /**
   * Whether a message, or a new TCP or TLS connection, from `host` on `side` is served: access
   * lists, spoofed inside sources and the rate limit, before anything is parsed or any handshake
   * is made. A refused source gets nothing back; each refusal is counted.
   */
  admits(side: Side, host: string): boolean {
    const { allow, deny } = this.config[side];
    // A source the other side owns cannot arrive here but by spoofing (over UDP): dropped too.
    if (
      (allow.length > 0 && !inNetworks(host, allow)) || inNetworks(host, deny) ||
      this.#boundary.crosses(side, host)
    ) {
      this.counters.denied++;
      return false;
    }
    if (side === "external" && !inNetworks(host, this.config.external.trusted)) {
      const admission = this.#rates.admit(host, this.#clock.now());
      if (admission !== "ok") {
        this.#rateLimited(host, admission === "new-ban");
        return false;
      }
    }
    return true;
  }

  /** An untrusted outside address holds more transactions than `max_transactions_per_source`. */
  #tooManyFrom(inbound: Inbound): boolean {
    const host = inbound.source.host;
    return inbound.side === "external" &&
      this.#servers.fromSource(host) > this.config.sip.maxTransactionsPerSource &&
      !inNetworks(host, this.config.external.trusted);
  }

  /** A message from a banned address: dropped unparsed; the ban itself is logged once. */
  #rateLimited(host: string, newBan: boolean): void {
    this.counters.rateLimited++;
    if (!newBan) return;
    this.counters.bans++;
    log.warn("Banning {host} for {seconds} s: more than {limit} SIP messages a second", {
      host,
      seconds: this.config.sip.banTime,
      limit: this.config.sip.rateLimit,
    });
  }

  #sendStateless(req: SipMessage, inbound: Inbound, status: number, reason: string): void {
    void this.#send(replyTarget(req, inbound), toBytes(statelessResponse(req, status, reason)));
  }

  /** A 400 when the headers an answer needs are readable (never to an ACK); else dropped. */
  #onMalformed(error: ParseError, inbound: Inbound): void {
    this.counters.parseErrors++;
    const { partial } = error;
    const peer = peerKey(inbound.source);
    if (partial?.kind === "request" && partial.method !== "ACK") {
      const reason = error.message.slice(0, 120).replace(/[\r\n]/g, " ");
      this.#calls.refused(partial, {
        side: inbound.side,
        source: inbound.source,
        status: 400,
        reason,
      });
      return this.#sendStateless(partial, inbound, 400, reason);
    }
    // Not at info: anyone can send garbage, and each datagram would be a line.
    log.debug("Dropping malformed message from {peer}: {error}", { peer, error: error.message });
  }

  async #onRequest(msg: SipMessage, inbound: Inbound): Promise<void> {
    this.counters.requests++;
    const match = this.#servers.receive(msg, replyTarget(msg, inbound));
    switch (match.kind) {
      case "retransmission":
      case "ack-absorbed":
        return;
      case "cancel":
        return this.#onCancel(match.tx, match.invite);
      case "ack-2xx":
        return await this.#runRoute(this.#context(msg, inbound, undefined));
      case "new":
        break;
    }
    const tx = match.tx;
    // Past a cap, a new request is answered at once: it keeps no transaction for long.
    if (this.#servers.size > this.config.sip.maxTransactions || this.#tooManyFrom(inbound)) {
      this.counters.overloaded++;
      return this.reply(this.#context(msg, inbound, tx), 503, "Server Overloaded");
    }
    if (msg.method === "INVITE") {
      // RFC 3261 §16.2: a stateful proxy answers 100 at once so the caller stops retransmitting.
      this.#servers.respond(tx, 100, toBytes(buildResponse(msg, 100, reasonPhrase(100))));
      if (this.#draining && !msg.toTag) {
        return this.reply(this.#context(msg, inbound, tx), 503, "Shutting Down");
      }
      if (!msg.toTag) {
        const refusal = this.#limits.admit(this.#calls.size, this.#clock.now());
        if (refusal) {
          this.counters.callsRefused[refusal]++;
          return this.reply(this.#context(msg, inbound, tx), 503, "Too Many Calls", [
            ["Retry-After", "5"],
          ]);
        }
        this.#calls.started(msg, inbound.side);
      }
    }
    // RFC 3261 §16.3 step 5, here rather than in a route, so no routing script can forget it.
    const refusal = proxyRequireRefusal(msg);
    if (refusal) {
      const { status, reason, headers } = refusal;
      return this.reply(this.#context(msg, inbound, tx), status, reason, headers);
    }
    // Before routing: the route hands the BYE to the relay, which forgets the call's counters.
    const ctx = this.#context(msg, inbound, tx);
    if (msg.method === "BYE") this.#calls.ended(ctx.msg.callId, CALL_END.bye, inbound.side);
    await this.#runRoute(ctx);
  }

  /** What routing sees of a request: an outside party's in-dialog one as the PBX knows it. */
  #view(msg: SipMessage, inbound: Inbound): SipMessage {
    return inbound.side === "external" ? this.#dialogs.insideView(msg) : msg;
  }

  /**
   * A new request's context, in the view routing sees (`upstream` keeps what was sent, for the
   * answers); identity headers from an untrusted outside source are dropped.
   */
  #context(msg: SipMessage, inbound: Inbound, tx: ServerTransaction | undefined): SipContext {
    const ctx = newContext(this.#view(msg, inbound), inbound, tx, msg);
    const { side, source } = inbound;
    if (side === "external" && !inNetworks(source.host, this.config.external.trusted)) {
      ctx.edits.push(...untrustedIdentityEdits(msg));
    }
    return ctx;
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
      if (isOpen(ctx) && ctx.msg.method !== "ACK") this.reply(ctx, 500, reasonPhrase(500));
      return;
    }
    // A route that neither relayed nor answered leaves the caller waiting: answer for it.
    if (isOpen(ctx) && ctx.tx) this.reply(ctx, 500, "No Route Decision");
    // A dropped request (KSR.x.drop) keeps no transaction alive: nothing would end it.
    const tx = ctx.tx;
    if (tx && tx.lastStatus < 200 && !this.#downstream.has(tx) && !tx.cancelled) {
      this.#servers.terminate(tx);
      this.#calls.dropped(ctx.msg);
    }
  }

  /** CANCEL is hop by hop (RFC 3261 §16.10): answer it here, then cancel downstream. */
  #onCancel(cancelTx: ServerTransaction, invite: ServerTransaction | undefined): void {
    const answer = (status: 200 | 481) =>
      this.#servers.respond(
        cancelTx,
        status,
        toBytes(buildResponse(cancelTx.request, status, reasonPhrase(status))),
      );
    if (!invite) return answer(481);
    answer(200);
    if (invite.lastStatus >= 200) return;
    invite.cancelled = true;
    const client = this.#downstream.get(invite);
    if (client) this.#clients.cancel(client);
  }

  manageMedia(ctx: SipContext, flags?: string): MediaOutcome {
    const { from, to } = direction(ctx);
    const letters = mediaFlags(this.config, ctx, flags);
    // The only place the answers' flags are set: the core manages each answer with them.
    ctx.replyMediaFlags = letters.reply;
    const outcome = applyMedia(this.#media, ctx.msg, {
      from,
      to,
      source: ctx.inbound.source,
      trustedSource: inNetworks(ctx.inbound.source.host, this.config[from].trusted),
      flags: letters.request,
      inDialog: ctx.msg.toTag !== undefined,
      hideAddresses: to === "external" && this.#hiding !== undefined,
    });
    if (outcome.kind === "body") ctx.edits.push({ op: "body", body: outcome.body });
    return outcome;
  }

  reply(
    ctx: SipContext,
    status: number,
    reason: string,
    headers?: readonly (readonly [string, string])[],
  ): void {
    if (!advance(ctx, status < 200 ? REQUEST_STATE.provisional : REQUEST_STATE.answered)) return;
    // The route's own answer >= 300 is a refusal, logged as one.
    if (status >= 300 && ctx.msg.method !== "ACK") {
      const { side, source } = ctx.inbound;
      this.#calls.refused(ctx.msg, { side, source, status, reason });
    }
    this.#respond(ctx, status, reason, headers);
  }

  /**
   * The proxy's own final answer that ends the caller's request: a timeout, or a CANCEL that came
   * first. The call's end line says so (not a refusal line); the media is deleted after it.
   */
  #endRequest(ctx: SipContext, status: 408 | 487, how: CallEndKind, by: CallEnd["by"]): void {
    if (!advance(ctx, REQUEST_STATE.answered)) return;
    this.#dialogs.failed(ctx);
    this.#calls.endedByProxy(ctx.msg, how, by, status);
    this.#respond(ctx, status, reasonPhrase(status));
  }

  #respond(
    ctx: SipContext,
    status: number,
    reason: string,
    headers?: readonly (readonly [string, string])[],
  ): void {
    if (ctx.msg.method === "ACK") return;
    if (status >= 300) this.counters.rejected++;
    const tx = ctx.tx;
    // Built from the request as its sender sent it, never from the PBX's view of it.
    const text = buildResponse(ctx.upstream, status, reason, {
      ...(status > 100 && { toTag: tx?.localTag ?? STATELESS_TO_TAG }),
      ...(headers && { headers }),
    });
    if (tx) this.#servers.respond(tx, status, toBytes(text));
    else this.#sendStateless(ctx.upstream, ctx.inbound, status, reason);
    if (
      status >= 300 && ctx.msg.method === "INVITE" && !ctx.msg.toTag &&
      ctx.replyMediaFlags !== undefined
    ) {
      this.#media?.deleteCall(ctx.msg.callId);
    }
  }

  async relay(ctx: SipContext): Promise<boolean> {
    if (!isOpen(ctx)) return false;
    // Here, not in the pipeline: no routing script can relay an outsider's request elsewhere.
    if (!this.#dialogs.bind(ctx)) return this.#refuseNoDialog(ctx);
    const target = ctx.target;
    if (!target) {
      this.reply(ctx, 500, "No Route Target");
      return false;
    }
    const sendTo = await resolveNextHop(target, this.sides);
    if (!sendTo) {
      log.warn("Cannot resolve {uri} for {callId}", { uri: target.uri, callId: ctx.msg.callId });
      this.reply(ctx, 404, "Destination Not Resolvable");
      return false;
    }
    const { msg, inbound } = ctx;
    const branch = msg.method === "ACK" ? statelessBranch(msg) : newBranch();
    const hiding = sendTo.side === "external" ? this.#hiding : undefined;
    const edits = forwardEdits({
      msg,
      source: inbound.source,
      inSide: this.sides[inbound.side],
      inProto: inbound.proto,
      outSide: this.sides[sendTo.side],
      outProto: sendTo.proto,
      edits: ctx.edits,
      recordRoute: ctx.recordRoute,
      path: ctx.path,
      branch,
      ...(hiding && { hidden: hiddenRequestEdits(hiding, msg, sendTo.proto, ctx.edits) }),
    });
    // Last, over any Request-URI the route set: embedded headers never leave (RFC 3261 §19.1.5).
    const uriEdit = uriHeadersEdit(msg, edits);
    if (uriEdit) edits.push(uriEdit);
    const body = hiding && hiddenBodyEdit(hiding, msg, edits);
    if (body) edits.push(body);
    const bytes = toBytes(serializeMessage(msg, edits));
    const server = ctx.tx;
    if (!server) {
      advance(ctx, REQUEST_STATE.relayed);
      return await this.#send(sendTo, bytes);
    }
    if (server.cancelled) {
      this.#endRequest(ctx, 487, CALL_END.cancel, inbound.side);
      return false;
    }
    advance(ctx, REQUEST_STATE.relayed);
    const client = this.#clients.start({
      branch,
      method: msg.method,
      bytes,
      target: sendTo,
      delegate: this.#responses,
      ...(ctx.timeouts && { timeouts: ctx.timeouts }),
    });
    this.#downstream.set(server, client);
    this.#responses.link(client, { server, ctx, from: inbound.side });
    return true;
  }

  /** An in-dialog request from outside that belongs to no dialog of ours: nothing crosses. */
  #refuseNoDialog(ctx: SipContext): false {
    this.counters.noDialog++;
    const { msg, inbound } = ctx;
    this.#refusals.line((skipped) =>
      log.warn("Refusing {method} {callId} from {peer}: no dialog of ours", {
        method: msg.method,
        callId: msg.callId,
        peer: peerKey(inbound.source),
        skipped,
      })
    );
    if (msg.method === "ACK") advance(ctx, REQUEST_STATE.dropped);
    else this.reply(ctx, 404, "Not Here");
    return false;
  }

  #onResponse(msg: SipMessage, inbound: Inbound): void {
    this.counters.responses++;
    const branch = msg.vias[0]?.branch;
    if (!branch) return;
    // An answer to a keepalive: the phone's NAT binding is open.
    if (branch.endsWith(NAT_PING) && this.#nat.answered(branch)) return;
    // An answer to a health ping, from the interface it left by only.
    if (
      branch.endsWith(HEALTH_PING) && inbound.side === "internal" &&
      this.#health.answered(branch, msg.status)
    ) return;
    const source = { side: inbound.side, host: inbound.source.host };
    const handled = this.#clients.receive(msg, branch, source);
    if (handled) return;
    // A 2xx retransmission after its transaction ended (RFC 3261 §16.7 step 5).
    const late = this.#responses.late2xx(msg, source);
    if (late) void this.#send(late.target, late.bytes);
  }

  /**
   * A REGISTER from outside accepted by the PBX: when the phone's Contact names another address
   * than its SIP came from (behind NAT), its binding is kept open until the registration expires.
   */
  #learnNatBinding(ctx: SipContext, reply: SipMessage): void {
    const { msg, inbound } = ctx;
    const interval = this.config.external.natPing;
    if (msg.method !== "REGISTER" || inbound.side !== "external" || interval === 0) return;
    const contact = contactUri(msg);
    const uri = contact === undefined ? undefined : parseUri(contact);
    if (contact === undefined || uri === undefined) return;
    const { source } = inbound;
    if (uri.host === source.host && (uri.port ?? 5060) === source.port) return;
    const expires = registrationSeconds(msg, reply);
    const now = this.#clock.now();
    this.#nat.learn({
      contact,
      peer: source,
      proto: inbound.proto,
      expiresAt: now + expires * 1000,
    }, now);
    if (this.#natTimer === undefined && this.#nat.size > 0) this.#armNatPing();
  }

  #armNatPing(): void {
    this.#natTimer = this.#clock.setTimer(() => {
      this.#natTimer = undefined;
      this.#pingNat();
      if (this.#nat.size > 0) this.#armNatPing();
    }, this.config.external.natPing * 1000);
  }

  /** OPTIONS over UDP, a CRLF pair over TCP or TLS (RFC 5626 §3.5.1), to every binding due. */
  #pingNat(): void {
    const side = this.sides.external;
    for (const b of this.#nat.due(this.#clock.now(), () => newBranch() + NAT_PING)) {
      const target = {
        side: "external" as const,
        proto: b.proto,
        dest: b.peer,
        connection: undefined,
        existingOnly: true,
      };
      if (b.branch === undefined) {
        void this.#send(target, toBytes("\r\n\r\n")).then((sent) => sent || this.#nat.failed(b));
        continue;
      }
      const text = [
        `OPTIONS ${b.contact} SIP/2.0`,
        `Via: SIP/2.0/UDP ${hostPort(side, "udp")};branch=${b.branch};rport`,
        "Max-Forwards: 70",
        `From: <sip:keepalive@${hostPort(side, "udp")}>;tag=${b.branch.slice(-12)}`,
        `To: <${b.contact}>`,
        `Call-ID: ${b.branch}`,
        "CSeq: 1 OPTIONS",
        "Content-Length: 0",
        "",
        "",
      ].join("\r\n");
      void this.#send(target, toBytes(text));
    }
  }

  /** The relay dropped an answered call's media after the silence timeout. */
  mediaTimeout(callId: string): void {
    // The dialog stays: the parties' BYEs must still cross to end the call at both ends.
    this.#calls.ended(callId, CALL_END.mediaTimeout, null);
  }

  /**
   * A reloaded config (sbc/config_reload.ts has refused what cannot change live): new messages,
   * calls and transactions follow it; transactions and dialogs in progress keep what they began
   * with; a PBX target kept keeps its health.
   */
  reconfigure(next: Config): void {
    const was = this.config;
    this.config = next;
    if (was.sip.rateLimit !== next.sip.rateLimit || was.sip.banTime !== next.sip.banTime) {
      this.#rates = new SourceLimiter({
        perSecond: next.sip.rateLimit,
        banMs: next.sip.banTime * 1000,
      });
    }
    // The PBX targets are inside: a new one is owned by the internal side from now on.
    this.networks = sideNetworks(next);
    this.#boundary = new Boundary(this.networks);
    this.pool.replace(next.pbx.targets, next.pbx.health, this.#wallNow());
    this.#health.start(next.pbx.health.interval, next.pbx.health.failureStatus);
    this.#limits.limits = next.limits;
    this.#clients.timeouts = branchTimeouts(next);
  }

  /** Starts pinging the PBX targets (`[pbx.health]`), once the transports are up. */
  startHealthChecks(): void {
    this.#health.start(this.config.pbx.health.interval, this.config.pbx.health.failureStatus);
  }

  /** Logs the calls still up as ended by shutdown (the relay must still be open), stops timers. */
  close(): void {
    this.#health.stop();
    this.#calls.endAll();
    this.#dialogTable.close();
    if (this.#natTimer !== undefined) this.#clock.clearTimer(this.#natTimer);
    this.#natTimer = undefined;
    this.#nat.clear();
    this.#responses.close();
    this.#servers.close();
    this.#clients.close();
  }
}
