/**
 * Test helpers for routing scripts: a way to call KSR functions as a given route kind. The SIP
 * text, the fake actions and the core environment come from test/kit/.
 */
import type { ProxyActions, SipContext } from "../../../sbc/proxy/context.ts";
import {
  callWithRun,
  requestState,
  type RouteKind,
  type ScriptRun,
  startRequest,
} from "../../../sbc/script/ksr_run.ts";
import type { Edit, SipMessage } from "../../../sbc/message/sip_message.ts";

/** A run of `kind` on `ctx`, as the script runner makes one. */
export function makeRun(
  kind: RouteKind,
  ctx: SipContext,
  actions: ProxyActions,
  opts: { reply?: SipMessage; replyEdits?: Edit[]; functions?: string[] } = {},
): ScriptRun {
  const fn = () => {};
  return {
    kind,
    ctx,
    actions,
    state: requestState(ctx) ?? startRequest(ctx, { actions, hooks: {} }),
    functions: new Map((opts.functions ?? []).map((n) => [n, fn])),
    reply: opts.reply,
    replyEdits: opts.replyEdits,
    relay: false,
    dropped: false,
  };
}

/** Calls `body` with `run` as the current run (as a script function would be called). */
export function within<T>(run: ScriptRun, body: () => T): T {
  let value: T | undefined;
  callWithRun(run, () => {
    value = body();
  });
  return value as T;
}
