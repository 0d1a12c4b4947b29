/**
 * `KSR.dispatcher`: the PBX pool (`[pbx] targets`, health-checked) with Kamailio's dispatcher
 * names, so a script can do what the built-in pipeline does: pick the best target up, and on
 * failure go on to the next (examples/failover.ts).
 *
 * edgesbc has one set, the pool, and one algorithm, whatever `alg` says: priority first, then a
 * weighted choice keyed by the Call-ID (Kamailio's 8 and 9, hashed like 0).
 */
import { pbxTarget } from "../proxy/pipeline.ts";
import { otherSide } from "../proxy/local_address.ts";
import { KSR_ERROR, ksrFail, type KsrRow } from "./ksr_row.ts";
import { ROUTE_KIND, type ScriptRun } from "./ksr_run.ts";

/** The one dispatcher set edgesbc has: `[pbx] targets`. */
const POOL_SET = 1;

const REQUEST_AND_FAILURE = [ROUTE_KIND.request, ROUTE_KIND.failure] as const;

/** Sets $du to the next target of the request's order; false when none is left. */
function useNext(run: ScriptRun): boolean {
  const next = run.ctx.pbxLeft.shift();
  if (next === undefined) return false;
  run.state.du = pbxTarget(next, otherSide(run.ctx.inbound.side)).uri;
  return true;
}

const selectRow: KsrRow = {
  module: "dispatcher",
  name: "ds_select_dst",
  params: ["int", "int"],
  returns: "int",
  kamailio: "KSR.dispatcher.ds_select_dst",
  doc: "Sets $du to the best PBX target that is up for this call (`set` is 1, the pool; `alg` " +
    "is accepted and ignored: priority, then weight by Call-ID hash) and keeps the others in " +
    "order for ds_next_dst.",
  codes: [[1, "$du is set"], [-1, "no target is up (answer 503)"]],
  routes: REQUEST_AND_FAILURE,
  mutates: true,
  fn: (run: ScriptRun, set: number) => {
    if (set !== POOL_SET) {
      return ksrFail(selectRow, {
        code: KSR_ERROR.badArgument,
        detail: `set ${set} does not exist: edgesbc has one, 1 ([pbx] targets)`,
      });
    }
    run.ctx.pbxLeft = run.actions.pool.order(run.ctx.msg.callId);
    return useNext(run) ? 1 : -1;
  },
};

const nextRow: KsrRow = {
  module: "dispatcher",
  name: "ds_next_dst",
  params: [],
  returns: "int",
  kamailio: "KSR.dispatcher.ds_next_dst",
  doc: "Sets $du to the next target ds_select_dst kept (in a failure route: serial forking).",
  codes: [[1, "$du is set"], [-1, "no target is left"]],
  routes: REQUEST_AND_FAILURE,
  mutates: true,
  fn: (run: ScriptRun) => useNext(run) ? 1 : -1,
};

const fromListRow: KsrRow = {
  module: "dispatcher",
  name: "ds_is_from_list",
  params: [],
  returns: "int",
  kamailio: "KSR.dispatcher.ds_is_from_list",
  doc: "Whether the request comes from one of the PBX targets (by address).",
  codes: [[1, "it does"], [-1, "it does not"]],
  routes: "anywhere",
  fn: (run: ScriptRun) => {
    const { host } = run.ctx.inbound.source;
    return run.actions.pool.states.some((s) => s.target.address.host === host) ? 1 : -1;
  },
};

export const DISPATCHER_MODULE: readonly KsrRow[] = [selectRow, nextRow, fromListRow];
