/**
 * `t_on_failure`: when a relayed request fails (a final answer ≥ 300, or a timeout), the route the
 * script armed runs before the caller hears of it, and may relay the request again (serial
 * forking) or answer it itself.
 *
 * @module
 */
import type { Side } from "../../config/config.ts";
import type { SipMessage } from "../message/sip_message.ts";
import type { ServerTransaction } from "../transaction/server_transaction.ts";
import { advance, REQUEST_STATE, type RouteHooks, type SipContext } from "./context.ts";

/** What a client transaction's answers go back to. */
export interface Upstream {
  readonly server: ServerTransaction;
  readonly ctx: SipContext;
  /** The side the request came in on: its answers leave by it. */
  readonly from: Side;
}

/** A failure route is armed and may still run (the caller has not cancelled). */
export function armedFailure(up: Upstream, hooks: RouteHooks): boolean {
  return up.ctx.callbacks.failure !== undefined && hooks.onFailure !== undefined &&
    !up.server.cancelled;
}

export interface FailureRun {
  readonly hooks: RouteHooks;
  /** The client transaction the request is relayed to now (changes when relayed again). */
  readonly downstream: () => unknown;
  /** A route that throws: count and log it; the caller then gets the failure. */
  readonly onError: (name: string, err: unknown) => void;
}

/**
 * Runs the armed failure route once. True when the caller needs nothing more from the core: the
 * route relayed the request again, or answered it.
 */
export async function runFailureRoute(
  up: Upstream,
  status: number,
  reply: SipMessage | undefined,
  { hooks, downstream, onError }: FailureRun,
): Promise<boolean> {
  const { ctx } = up;
  const name = ctx.callbacks.failure;
  const run = hooks.onFailure;
  if (name === undefined || !run) return false;
  delete ctx.callbacks.failure;
  const before = downstream();
  // The one place a relayed request is reopened: the failure route may relay or answer it.
  advance(ctx, REQUEST_STATE.pending);
  ctx.vars.set("$T_reply_code", status);
  try {
    await run(name, ctx, reply);
  } catch (err) {
    onError(name, err);
  }
  if (downstream() !== before) return true;
  if (up.server.lastStatus >= 200) return true;
  // Neither: close the request again, so the core's answer to the caller is the only one.
  advance(ctx, REQUEST_STATE.relayed);
  return false;
}
