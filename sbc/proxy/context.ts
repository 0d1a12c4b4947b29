/**
 * The per-request state the pipeline steps (or a routing script) read and fill in, and the
 * actions they may take on it. One `SipContext` per received request.
 */
import type { Config, Side, SipProto } from "../../config/config.ts";
import type { CallTraffic } from "../../rtp/session.ts";
import type { MediaContext, MediaOutcome } from "../../rtp/relay_types.ts";
import { type LocalSides, otherSide } from "./local_address.ts";
import type { Edit, SipMessage } from "../message/sip_message.ts";
import type { ServerTransaction } from "../transaction/server_transaction.ts";
import type { Inbound } from "../transport/transport.ts";
import type { Peer } from "../transport/peer.ts";
import { uriHeadersEdit } from "./uri_headers.ts";
import type { PbxTarget } from "../../config/config.ts";
import type { BranchTimeouts } from "../transaction/client_transaction.ts";
import type { PbxPool } from "./pbx_pool.ts";
import type { SipCounters } from "./sip_counters.ts";

/** Where a request goes: the side it leaves by and the URI or address it is sent to. */
export interface Target {
  readonly out: Side;
  /** The URI resolved when no address is forced (next Route or Request-URI). */
  readonly uri: string;
  /** A fixed address (the PBX, a Path `received`), skipping resolution of `uri`. */
  readonly peer?: Peer;
  readonly proto?: SipProto;
}

/** The media relay as the SIP side sees it (implemented by rtp/relay.ts). */
export interface MediaHooks {
  manage(ctx: MediaContext): MediaOutcome;
  deleteCall(callId: string): void;
  /** What the call's media sessions relayed so far (read for the call log before deletion). */
  traffic(callId: string): CallTraffic;
}

export interface SipContext {
  /** The request as routing sees it: for an outside party's in-dialog request, the PBX's view. */
  readonly msg: SipMessage;
  /** The request as its sender sent it: what answers are built from and made to match. */
  readonly upstream: SipMessage;
  readonly inbound: Inbound;
  /** Undefined for an ACK to a 2xx, which is forwarded without a transaction. */
  readonly tx: ServerTransaction | undefined;
  readonly edits: Edit[];
  target: Target | undefined;
  /** Add Record-Route entries (two when the request crosses sides). */
  recordRoute: boolean;
  /** Add a Path entry (REGISTER, RFC 3327). */
  path: boolean;
  /** rtpproxy_manage flags for the answers to this request; set by `manageMedia` only. */
  replyMediaFlags: string | undefined;
  /** Where routing stands; written only by `advance()`, which checks the move. */
  state: RequestState;
  /** Named script callbacks armed for this transaction (t_on_failure, t_on_reply, t_on_branch). */
  readonly callbacks: { failure?: string; reply?: string; branch?: string };
  /** Script variables ($var, $avp) and anything else a step wants to pass along. */
  readonly vars: Map<string, string | number>;
  /** PBX targets still to try when this new call fails (the pool's order after the current). */
  pbxLeft: PbxTarget[];
  /** This request's own branch timeouts (KSR.tm.t_set_fr), else the configured ones. */
  timeouts: Partial<BranchTimeouts> | undefined;
}

/** What the proxy core lets a pipeline step or script do. */
export interface ProxyActions {
  readonly config: Config;
  readonly sides: LocalSides;
  /** The PBX targets and which are up. */
  readonly pool: PbxPool;
  readonly counters: SipCounters;
  /** Forwards statefully to `ctx.target` (t_relay); false when it could not be sent. */
  relay(ctx: SipContext): Promise<boolean>;
  /** Answers the request (sl_send_reply / t_reply). */
  reply(
    ctx: SipContext,
    status: number,
    reason: string,
    headers?: readonly (readonly [string, string])[],
  ): void;
  /**
   * Applies rtpproxy_manage to the request now (edits its body) and to its answers later.
   * Without `flags` each side's configured flags apply (the request's side now, the other side's
   * to the answers); with `flags` they apply both ways.
   */
  manageMedia(ctx: SipContext, flags?: string): MediaOutcome;
}

/** Runs a request through routing: the bridge pipeline or a user script. */
export type RequestRoute = (ctx: SipContext, actions: ProxyActions) => Promise<void>;
/** Script callbacks beyond the request route. */
export interface RouteHooks {
  /** Runs on every answer before it is forwarded (onreply_route); may add edits. */
  readonly onReply?: (ctx: SipContext, reply: SipMessage, edits: Edit[]) => void;
  /** Runs the failure route `name` armed by t_on_failure; may relay again (serial forking). */
  readonly onFailure?: (name: string, ctx: SipContext, reply: SipMessage | undefined) => unknown;
}

/**
 * Where a request stands in routing (replaces a boolean "done"):
 * - `pending`: being routed, nothing sent yet;
 * - `provisional`: the route answered 1xx and may still relay or answer;
 * - `relayed`: forwarded (a client transaction, or sent as is for an ACK to a 2xx);
 * - `answered`: a final answer went upstream;
 * - `dropped`: neither relayed nor answered, on purpose (KSR.x.drop, a stray ACK).
 */
export const REQUEST_STATE = {
  pending: "pending",
  provisional: "provisional",
  relayed: "relayed",
  answered: "answered",
  dropped: "dropped",
} as const;
export type RequestState = typeof REQUEST_STATE[keyof typeof REQUEST_STATE];

const { pending, provisional, relayed, answered, dropped } = REQUEST_STATE;

/**
 * The moves routing may make. A relayed request is answered by the proxy itself on a timeout,
 * a CANCEL that came first, or a failure route that answers; the failure route reopens it
 * (`relayed → pending`) to relay it again (serial forking). Answered and dropped are final.
 */
const MOVES: Readonly<Record<RequestState, readonly RequestState[]>> = {
  pending: [provisional, relayed, answered, dropped],
  provisional: [provisional, relayed, answered, dropped],
  relayed: [answered, pending],
  answered: [],
  dropped: [],
};

/** The route may still relay or answer this request. */
export function isOpen(ctx: SipContext): boolean {
  return ctx.state === pending || ctx.state === provisional;
}

/** Moves `ctx` to `next`; false (and no change) when routing may not make that move. */
export function advance(ctx: SipContext, next: RequestState): boolean {
  if (!MOVES[ctx.state].includes(next)) return false;
  ctx.state = next;
  return true;
}

/**
 * The rtpproxy_manage letters for a request and for its answers. Without `flags`, each side's
 * configured flags: the request's side now, the other side's on the answers (they come from
 * there); with `flags` (a script's), the same letters both ways.
 */
export function mediaFlags(
  config: Config,
  ctx: SipContext,
  flags?: string,
): { request: string; reply: string } {
  if (flags !== undefined) return { request: flags, reply: flags };
  const { from, to } = direction(ctx);
  return { request: config[from].flags, reply: config[to].flags };
}

/** The sides a request travels between: where it came in, and where its target leaves. */
export function direction(ctx: SipContext): { from: Side; to: Side } {
  return { from: ctx.inbound.side, to: ctx.target?.out ?? otherSide(ctx.inbound.side) };
}

/**
 * Builds a fresh context for a received request (`upstream`: as sent, when `msg` is mapped). Its
 * Request-URI starts without embedded headers (uri_headers.ts), so no routing decision, nor a
 * script's `$ru`, sees them.
 */
export function newContext(
  msg: SipMessage,
  inbound: Inbound,
  tx: ServerTransaction | undefined,
  upstream: SipMessage = msg,
): SipContext {
  const uriEdit = uriHeadersEdit(msg, []);
  return {
    msg,
    upstream,
    inbound,
    tx,
    edits: uriEdit ? [uriEdit] : [],
    target: undefined,
    recordRoute: false,
    path: false,
    replyMediaFlags: undefined,
    state: REQUEST_STATE.pending,
    callbacks: {},
    vars: new Map(),
    pbxLeft: [],
    timeouts: undefined,
  };
}
