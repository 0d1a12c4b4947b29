/**
 * The built-in bridge pipeline: a list of small named steps composed like Hono middleware.
 * Each step reads and fills the `SipContext`; the core runs it for every new request.
 */
import {
  advance,
  isOpen,
  type ProxyActions,
  REQUEST_STATE,
  type RouteHooks,
  type SipContext,
  type Target,
} from "./context.ts";
import type { PbxTarget, Side } from "../../config/config.ts";
import { transportParam } from "../transport/transport_name.ts";
import { localRole, otherSide } from "./local_address.ts";
import { looseRoute, maxForwardsEdit, routeTarget } from "./header_rules.ts";
import { parseUri } from "../message/uri.ts";
import { reasonPhrase } from "../message/response.ts";

export type Step = (
  ctx: SipContext,
  actions: ProxyActions,
  next: () => Promise<void>,
) => Promise<void>;

/** Runs steps in order; each calls `next()` to go on (koa/Hono style). */
export function compose(
  steps: readonly Step[],
): (ctx: SipContext, actions: ProxyActions) => Promise<void> {
  return function run(ctx, actions) {
    let last = -1;
    const dispatch = (i: number): Promise<void> => {
      if (i <= last) {
        return Promise.reject(new Error("Cannot run pipeline step: next() called twice"));
      }
      last = i;
      const step = steps[i];
      if (!step || !isOpen(ctx)) return Promise.resolve();
      return step(ctx, actions, () => dispatch(i + 1));
    };
    return dispatch(0);
  };
}

/** RFC 3261 §16.3 step 3 and §16.6 step 3: answer 483 at zero, else decrement. */
export function maxForwards(): Step {
  return async function maxForwards(ctx, actions, next) {
    const edit = maxForwardsEdit(ctx.msg);
    if ("status" in edit) return actions.reply(ctx, edit.status, edit.reason);
    ctx.edits.push(edit);
    await next();
  };
}

/** OPTIONS addressed to the SBC itself (no user part, no Route) is answered here (keepalive pings). */
export function localOptions(): Step {
  return async function localOptions(ctx, actions, next) {
    const { msg } = ctx;
    if (msg.method === "OPTIONS" && !msg.toTag && !msg.headers.some((h) => h.name === "route")) {
      const uri = parseUri(msg.uri);
      if (uri && !uri.user && localRole(actions.sides, uri.host, uri.port)) {
        return actions.reply(ctx, 200, reasonPhrase(200), [
          [
            "Allow",
            "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, UPDATE, PRACK, INFO, REFER, NOTIFY, SUBSCRIBE, MESSAGE",
          ],
          ["Accept", "application/sdp"],
        ]);
      }
    }
    await next();
  };
}

/**
 * Bridge routing. In-dialog requests follow our Record-Route entries to the other side. Initial
 * requests from outside go to the PBX only (never an open relay); initial requests from the PBX go
 * towards their next Route or Request-URI, out of the external side.
 */
export function bridgeRoute(): Step {
  return async function bridgeRoute(ctx, actions, next) {
    const { msg, inbound } = ctx;
    const decision = looseRoute(msg, actions.sides);
    ctx.edits.push(...decision.edits);
    const out = otherSide(inbound.side);
    const routed = routeTarget(decision, out);
    if (msg.toTag) {
      if (decision.removed.length === 0) {
        // Not routed through us: Kamailio's "404 Not here" for in-dialog requests.
        if (msg.method === "ACK") return void advance(ctx, REQUEST_STATE.dropped);
        return actions.reply(ctx, 404, "Not Here");
      }
      ctx.target = routed;
      return await next();
    }
    if (inbound.side === "external") {
      // The pool's order for this Call-ID: the first target up, the others if it fails.
      const [first, ...rest] = actions.pool.order(msg.callId);
      if (first === undefined) {
        if (msg.method === "INVITE") actions.counters.callsRefused.no_pbx++;
        return actions.reply(ctx, 503, "No PBX Available", [
          ["Retry-After", String(retryAfter(actions))],
        ]);
      }
      ctx.target = pbxTarget(first, out);
      ctx.pbxLeft = rest;
      ctx.callbacks.failure = PBX_FAILOVER;
      if (msg.method === "REGISTER") ctx.path = true;
      else ctx.recordRoute = true;
      return await next();
    }
    const target = parseUri(decision.next);
    if (!target) return actions.reply(ctx, 416, reasonPhrase(416));
    if (!routed.peer && localRole(actions.sides, target.host, target.port)) {
      return actions.reply(ctx, 404, reasonPhrase(404));
    }
    ctx.target = routed;
    ctx.recordRoute = msg.method !== "REGISTER";
    await next();
  };
}

/** Methods whose bodies rtpproxy_manage looks at (offer, answer or delete). */
const MEDIA_METHODS = new Set(["INVITE", "ACK", "BYE", "CANCEL", "UPDATE", "PRACK"]);

/** rtpproxy_manage with each interface's flags; the direction comes from the sides. */
export function rtpManage(): Step {
  return async function rtpManage(ctx, actions, next) {
    if (MEDIA_METHODS.has(ctx.msg.method)) {
      // Each side's configured flags: this side's now, the other side's on the answers.
      const outcome = actions.manageMedia(ctx);
      if (outcome.kind === "reject") return actions.reply(ctx, outcome.status, outcome.reason);
    }
    await next();
  };
}

/** The last step: forward statefully. */
export function relay(): Step {
  return async function relay(ctx, actions) {
    await actions.relay(ctx);
  };
}

/** The default bridge pipeline, used when no routing script is configured. */
export function bridgePipeline(): (ctx: SipContext, actions: ProxyActions) => Promise<void> {
  return compose([maxForwards(), localOptions(), bridgeRoute(), rtpManage(), relay()]);
}

/** The bridge pipeline's failure route: a new call from outside goes on to the next PBX. */
export const PBX_FAILOVER = "pbx_failover";

/** The pipeline's hooks: PBX failover (serial forking, as Kamailio's dispatcher failure route). */
export function bridgeHooks(actions: ProxyActions): RouteHooks {
  return {
    onFailure: async (name, ctx, reply) => {
      if (name !== PBX_FAILOVER) return;
      // No answer at all always moves on; an answer only when the config lists its status.
      if (reply !== undefined && !actions.config.pbx.failoverOn.includes(reply.status)) return;
      const next = ctx.pbxLeft.shift();
      if (next === undefined || ctx.target === undefined) return;
      ctx.target = pbxTarget(next, ctx.target.out);
      ctx.callbacks.failure = PBX_FAILOVER;
      await actions.relay(ctx);
    },
  };
}

/** Where a request to a PBX target goes. */
export function pbxTarget(target: PbxTarget, out: Side): Target {
  const { proto, host, port } = target.address;
  const bracketed = host.includes(":") ? `[${host}]` : host;
  return { out, uri: `sip:${bracketed}:${port}${transportParam(proto)}`, proto };
}

/** Seconds a caller should wait when no PBX is up: until a target could be up again. */
export function retryAfter(actions: ProxyActions): number {
  const { interval, successes } = actions.config.pbx.health;
  return interval === 0 ? 30 : Math.max(1, interval * successes);
}
