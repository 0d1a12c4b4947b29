/**
 * Functions directly on `KSR` (method checks, logging), `KSR.x` (stop the route) and `KSR.sbc`,
 * edgesbc's own module for what Kamailio scripts hard-code (the PBX, which side a request came in).
 */
import { advance, REQUEST_STATE } from "../proxy/context.ts";
import { getLogger } from "@logtape/logtape";
import { ANY_ROUTE, KSR_EXIT, ROUTE_KIND, type ScriptRun } from "./ksr_run.ts";
import type { KsrRow } from "./ksr_row.ts";
import { localRole } from "../proxy/local_address.ts";
import { parseUri } from "../message/uri.ts";
import { transportParam } from "../transport/transport_name.ts";

const log = getLogger(["edgesbc", "script"]);

const ANY = ANY_ROUTE;

type LogMethod = "debug" | "info" | "warn" | "error" | "fatal";

function logRow(name: string, level: LogMethod, kamailioLevel: string): KsrRow {
  return {
    module: "",
    name,
    params: ["str"],
    returns: "void",
    kamailio: `KSR.${name}`,
    doc: `Logs one line at level ${level} (Kamailio ${kamailioLevel}), category edgesbc.script.`,
    routes: "anywhere",
    fn: (run: ScriptRun | undefined, text: string) => {
      log[level]("{text}", {
        text,
        ...(run && { callId: run.ctx.msg.callId }),
      });
    },
  };
}

const isMethodRow: KsrRow = {
  module: "",
  name: "is_method",
  params: ["str"],
  returns: "bool",
  kamailio: "KSR.is_method",
  doc: 'Whether the method is one of a `|`-separated list, any case: `"INVITE|BYE"`. For ' +
    "answers, the CSeq method.",
  routes: ANY,
  fn: (run: ScriptRun, methods: string) => {
    const msg = run.kind === ROUTE_KIND.reply && run.reply ? run.reply : run.ctx.msg;
    const method = msg.method.toUpperCase();
    return methods.split("|").some((m) => m.trim().toUpperCase() === method);
  },
};

const isMyselfRow: KsrRow = {
  module: "",
  name: "is_myself",
  params: ["str"],
  returns: "bool",
  kamailio: "KSR.is_myself",
  doc: "Whether a URI (or a bare host[:port]) names one of the SBC's own SIP addresses, " +
    "listening or advertised, on either side.",
  routes: ANY,
  fn: (run: ScriptRun, text: string) => {
    const uri = parseUri(text) ?? parseUri(`sip:${text}`);
    return uri !== undefined && localRole(run.actions.sides, uri.host, uri.port) !== undefined;
  },
};

const exitRow: KsrRow = {
  module: "x",
  name: "exit",
  params: [],
  returns: "void",
  kamailio: "KSR.x.exit",
  doc: "Stops the route function here, as if it returned (a pending t_relay still happens). " +
    "It throws a marker the runner catches: do not swallow it with a bare try/catch.",
  routes: ANY,
  fn: () => {
    throw KSR_EXIT;
  },
};

const dropRow: KsrRow = {
  module: "x",
  name: "drop",
  params: [],
  returns: "void",
  kamailio: "KSR.x.drop",
  doc: "Stops the route and sends nothing: in a request route the request is neither relayed " +
    "nor answered (the caller times out); in branch and onsend routes this relay is not sent.",
  routes: [ROUTE_KIND.request, ROUTE_KIND.branch, ROUTE_KIND.onsend],
  fn: (run: ScriptRun) => {
    run.dropped = true;
    if (run.kind === ROUTE_KIND.request) advance(run.ctx, REQUEST_STATE.dropped);
    throw KSR_EXIT;
  },
};

const pbxRow: KsrRow = {
  module: "sbc",
  name: "pbx",
  params: [],
  returns: "str",
  kamailio: "edgesbc: the `pbx.address` config key",
  doc: 'The configured PBX as a SIP URI for $du: `"sip:127.0.2.10:5060"` (`;transport=tcp` ' +
    "for TCP, `;transport=tls` for TLS).",
  routes: ANY,
  fn: (run: ScriptRun) => {
    const { proto, host, port } = run.actions.config.pbx.address;
    const h = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
    return `sip:${h}:${port}${transportParam(proto)}`;
  },
};

const fromSideRow: KsrRow = {
  module: "sbc",
  name: "from_side",
  params: [],
  returns: "str",
  kamailio: "edgesbc: the interface side; Kamailio scripts test $Ri",
  doc: 'The side the request came in on: `"external"` or `"internal"` (in reply routes too: ' +
    "answers go back to that side).",
  routes: ANY,
  fn: (run: ScriptRun) => run.ctx.inbound.side,
};

/** Functions directly on `KSR`. */
export const CORE_MODULE: readonly KsrRow[] = [
  isMethodRow,
  isMyselfRow,
  logRow("dbg", "debug", "L_DBG"),
  logRow("info", "info", "L_INFO"),
  logRow("notice", "info", "L_NOTICE"),
  logRow("warn", "warn", "L_WARN"),
  logRow("err", "error", "L_ERR"),
  logRow("crit", "fatal", "L_CRIT"),
];

/** The `KSR.x` module. */
export const X_MODULE: readonly KsrRow[] = [exitRow, dropRow];

/** The `KSR.sbc` module (edgesbc only). */
export const SBC_MODULE: readonly KsrRow[] = [pbxRow, fromSideRow];
