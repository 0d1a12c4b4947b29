/**
 * One run of a script route (request, failure, branch, reply or onsend) and the state it shares
 * with the other runs of the same request. KSR functions find the run they act on through
 * `currentRun()`, so a script calls `KSR.pv.get("$ru")` without passing the message around.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { ProxyActions, SipContext, Target } from "../proxy/context.ts";
import type { RouteHooks } from "../proxy/context.ts";
import type { Edit, SipMessage } from "../message/sip_message.ts";

/** The kinds of route a script function runs as (Kamailio's route blocks). */
export const ROUTE_KIND = {
  /** `ksr_request_route`: every new request, and ACKs to 2xx. */
  request: "request",
  /** Named by `t_on_failure`: a final answer >= 300 or a timeout, before it goes upstream. */
  failure: "failure",
  /** Named by `t_on_branch`: just before each relay of the request. */
  branch: "branch",
  /** `ksr_reply_route` and routes named by `t_on_reply`: every answer before it goes upstream. */
  reply: "reply",
  /** `ksr_onsend_route`: after the branch route, right before sending; may inspect or drop. */
  onsend: "onsend",
} as const;

/** Every route kind: functions that work anywhere (logging, KSR.x, reading the message). */
export const ANY_ROUTE = [
  ROUTE_KIND.request,
  ROUTE_KIND.failure,
  ROUTE_KIND.branch,
  ROUTE_KIND.reply,
  ROUTE_KIND.onsend,
] as const;
/** Route kinds whose message may still be changed (not onsend, which only inspects or drops). */
export const EDITING_ROUTES = [
  ROUTE_KIND.request,
  ROUTE_KIND.failure,
  ROUTE_KIND.branch,
  ROUTE_KIND.reply,
] as const;
export type RouteKind = typeof ROUTE_KIND[keyof typeof ROUTE_KIND];

/** A script function as the runner calls it. */
export type ScriptFunction = (msg: SipMessage) => unknown;

/** What persists across the runs of one request (request, then failure, branch, reply). */
export interface RequestScriptState {
  /** The proxy actions the request route ran with; later runs (failure, reply) reuse them. */
  readonly actions: ProxyActions;
  /** The hooks of the script that routed the request: its failure and reply routes run there. */
  readonly hooks: RouteHooks;
  /** `$du`: the destination URI t_relay sends to instead of the Request-URI. */
  du: string | undefined;
  /** The next hop `loose_route` found (Route or Path `received`), used when `$du` is unset. */
  routed: Target | undefined;
  /** Header lines for replies the script sends itself (`hdr.append_to_reply`). */
  readonly replyHeaders: [string, string][];
  /** The last failure a KSR function recorded, sent by `sl.sl_reply_error`. */
  lastError: { readonly status: number; readonly reason: string } | undefined;
}

/** One invocation of a script function. */
export interface ScriptRun {
  readonly kind: RouteKind;
  readonly ctx: SipContext;
  readonly actions: ProxyActions;
  readonly state: RequestScriptState;
  /** Every function the script defines, by name (t_on_* checks names against it). */
  readonly functions: ReadonlyMap<string, ScriptFunction>;
  /** The answer being handled: in reply routes, and in failure routes unless it was a timeout. */
  readonly reply: SipMessage | undefined;
  /** Edits to `reply` (reply routes only). */
  readonly replyEdits: Edit[] | undefined;
  /** t_relay was called: the runner relays once the function returns. */
  relay: boolean;
  /** x.drop was called. */
  dropped: boolean;
}

const states = new WeakMap<SipContext, RequestScriptState>();

/** The shared state of a request; undefined until a script's request route ran on it. */
export function requestState(ctx: SipContext): RequestScriptState | undefined {
  return states.get(ctx);
}

/** Starts the shared state of a request, for the script (`hooks`) routing it. */
export function startRequest(
  ctx: SipContext,
  { actions, hooks }: { readonly actions: ProxyActions; readonly hooks: RouteHooks },
): RequestScriptState {
  const state: RequestScriptState = {
    actions,
    hooks,
    du: undefined,
    routed: undefined,
    replyHeaders: [],
    lastError: undefined,
  };
  states.set(ctx, state);
  return state;
}

/** Thrown by `KSR.x.exit()` and `KSR.x.drop()` to stop the route; the runner catches it. */
export const KSR_EXIT: { readonly exit: true } = Object.freeze({ exit: true as const });

// Synchronous routes (the norm) find their run in `slot`: a plain variable, set only while the
// function runs. `async function` routes also get an AsyncLocalStorage binding so KSR calls after
// an await still reach their own request (bridge.ts on an INVITE: 10 µs sync, 17 µs async).
let slot: ScriptRun | undefined;
const storage = new AsyncLocalStorage<ScriptRun>();
const AsyncFunction = (async () => {}).constructor;

/** The run the calling KSR function acts on; undefined outside any route. */
export function currentRun(): ScriptRun | undefined {
  return slot ?? storage.getStore();
}

/**
 * Calls `fn` with `run` as the current run and the message it handles (the answer in reply routes,
 * else the request); returns what `fn` returned, maybe a promise.
 */
export function callWithRun(run: ScriptRun, fn: ScriptFunction): unknown {
  const msg = run.kind === ROUTE_KIND.reply && run.reply ? run.reply : run.ctx.msg;
  const outer = slot;
  slot = run;
  try {
    return fn instanceof AsyncFunction ? storage.run(run, () => fn(msg)) : fn(msg);
  } finally {
    slot = outer;
  }
}
