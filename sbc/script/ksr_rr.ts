/**
 * Proxy header rules as KSR functions: `KSR.rr` (Record-Route, loose routing), `KSR.path`
 * (RFC 3327) and `KSR.maxfwd`. Thin adapters over sbc/proxy/header_rules.ts, which holds the logic.
 */
import { ROUTE_KIND, type ScriptRun } from "./ksr_run.ts";
import { KSR_ERROR, ksrFail, type KsrRow } from "./ksr_row.ts";
import { otherSide } from "../proxy/local_address.ts";
import { looseRoute, maxForwardsEdit, routeTarget } from "../proxy/header_rules.ts";

const recordRouteRow: KsrRow = {
  module: "rr",
  name: "record_route",
  params: [],
  returns: "int",
  kamailio: "KSR.rr.record_route",
  doc: "Adds Record-Route so in-dialog requests come back through the SBC: two entries when the " +
    "request crosses sides (each naming the side it faces), as Kamailio's double RR.",
  codes: [[1, "added when the request is relayed"]],
  routes: [ROUTE_KIND.request, ROUTE_KIND.branch],
  mutates: true,
  fn: (run: ScriptRun) => {
    run.ctx.recordRoute = true;
    return 1;
  },
};

const looseRouteRow: KsrRow = {
  module: "rr",
  name: "loose_route",
  params: [],
  returns: "int",
  kamailio: "KSR.rr.loose_route",
  doc: "Removes the Route entries naming the SBC (repairing a strict router first, RFC 3261 " +
    "§16.4) and makes the next Route, or the Request-URI, the next hop out of the other side. " +
    "A Path entry's `received` address is honoured.",
  codes: [
    [1, "our Route entries were removed; t_relay goes to the next hop"],
    [-1, "no Route entry names the SBC; nothing changed"],
  ],
  routes: [ROUTE_KIND.request],
  mutates: true,
  fn: (run: ScriptRun) => {
    const { ctx } = run;
    const decision = looseRoute(ctx.msg, run.actions.sides);
    if (decision.edits.length === 0) return -1;
    ctx.edits.push(...decision.edits);
    const target = routeTarget(decision, otherSide(ctx.inbound.side));
    run.state.routed = target;
    ctx.target = target;
    return 1;
  },
};

const addPathRow: KsrRow = {
  module: "path",
  name: "add_path",
  params: [],
  returns: "int",
  kamailio: "KSR.path.add_path",
  doc: "Adds a Path entry (RFC 3327) to a REGISTER so requests to the registered contact come " +
    "back through the SBC; it records the source address (`received`) for NAT.",
  codes: [[1, "added when the request is relayed"], [-1, "the request is not a REGISTER"]],
  routes: [ROUTE_KIND.request],
  mutates: true,
  fn: (run: ScriptRun) => {
    if (run.ctx.msg.method !== "REGISTER") return -1;
    run.ctx.path = true;
    return 1;
  },
};

const processMaxfwdRow: KsrRow = {
  module: "maxfwd",
  name: "process_maxfwd",
  params: ["int"],
  returns: "int",
  kamailio: "KSR.maxfwd.process_maxfwd",
  doc: "Max-Forwards (RFC 3261 §16.3): decrements it, or adds it with the given value " +
    "(1..255) when absent. At 0 the script should answer 483 (sl_reply_error does).",
  codes: [
    [2, "the header was missing and was added"],
    [1, "the value was decremented"],
    [-1, "the value is 0: the request must not be forwarded"],
  ],
  routes: [ROUTE_KIND.request],
  mutates: true,
  fn: (run: ScriptRun, limit: number) => {
    if (limit < 1 || limit > 255) {
      return ksrFail(processMaxfwdRow, {
        code: KSR_ERROR.badArgument,
        detail: `limit ${limit} is not in 1..255`,
      });
    }
    const edit = maxForwardsEdit(run.ctx.msg);
    if ("status" in edit) {
      run.state.lastError = edit;
      return -1;
    }
    if (edit.op === "append") {
      run.ctx.edits.push({ op: "append", name: "Max-Forwards", value: String(limit) });
      return 2;
    }
    run.ctx.edits.push(edit);
    return 1;
  },
};

/** The `KSR.rr` module. */
export const RR_MODULE: readonly KsrRow[] = [recordRouteRow, looseRouteRow];
/** The `KSR.path` module. */
export const PATH_MODULE: readonly KsrRow[] = [addPathRow];
/** The `KSR.maxfwd` module. */
export const MAXFWD_MODULE: readonly KsrRow[] = [processMaxfwdRow];
