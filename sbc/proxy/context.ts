/**
 * The per-request state the pipeline steps (or a routing script) read and fill in, and the
 * actions they may take on it. One `SipContext` per received request.
 */
import type { Config, Role, SipProto } from "../../config/config.ts";
import type { CallTraffic } from "./call_log.ts";
import type { MediaContext, MediaOutcome } from "../../rtp/relay_types.ts";
import type { LocalSides } from "./local_address.ts";
import type { Edit, SipMessage } from "../message/message.ts";
import type { ServerTransaction } from "../transaction/server_transaction.ts";
import type { Inbound, Peer } from "../transport/transport.ts";

/** Where a request goes: the side it leaves by and the URI or address it is sent to. */
export interface Target {
  readonly out: Role;
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
  readonly msg: SipMessage;
  readonly inbound: Inbound;
  /** Undefined for an ACK to a 2xx, which is forwarded without a transaction. */
  readonly tx: ServerTransaction | undefined;
  readonly edits: Edit[];
  target: Target | undefined;
  /** Add Record-Route entries (two when the request crosses sides). */
  recordRoute: boolean;
  /** Add a Path entry (REGISTER, RFC 3327). */
  path: boolean;
  /** rtpproxy_manage flags to apply to replies of this request, once set for the request. */
  replyMediaFlags: string | undefined;
  /** Set once a response was sent or the request was dropped: later steps do nothing. */
  done: boolean;
  /** Named script callbacks armed for this transaction (t_on_failure, t_on_reply, t_on_branch). */
  readonly callbacks: { failure?: string; reply?: string; branch?: string };
  /** Script variables ($var, $avp) and anything else a step wants to pass along. */
  readonly vars: Map<string, string | number>;
}

/** What the proxy core lets a pipeline step or script do. */
export interface ProxyActions {
  readonly config: Config;
  readonly sides: LocalSides;
  /** Forwards statefully to `ctx.target` (t_relay); false when it could not be sent. */
  relay(ctx: SipContext): Promise<boolean>;
  /** Answers the request (sl_send_reply / t_reply). */
  reply(
    ctx: SipContext,
    status: number,
    reason: string,
    headers?: readonly (readonly [string, string])[],
  ): void;
  /** Applies rtpproxy_manage to the request now (edits its body) and to its replies later. */
  manageMedia(ctx: SipContext, flags: string): MediaOutcome;
  /** Sides a request travels between once routed. */
  direction(ctx: SipContext): { from: Role; to: Role };
}

/** Builds a fresh context for a received request. */
export function newContext(
  msg: SipMessage,
  inbound: Inbound,
  tx: ServerTransaction | undefined,
): SipContext {
  return {
    msg,
    inbound,
    tx,
    edits: [],
    target: undefined,
    recordRoute: false,
    path: false,
    replyMediaFlags: undefined,
    done: false,
    callbacks: {},
    vars: new Map(),
  };
}
