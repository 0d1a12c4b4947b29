/**
 * Transactions and replies: `KSR.tm` (relay, callbacks, failure-route checks) and `KSR.sl`
 * (answering the request). t_relay only decides where the request goes; the runner sends it once
 * the route function returns, after the branch and onsend routes.
 */
import type { Target } from "../proxy/context.ts";
import { scriptRegExp } from "./ksr_hdr.ts";
import { currentUri } from "./ksr_pv.ts";
import { ROUTE_KIND, type ScriptRun } from "./ksr_run.ts";
import { KSR_ERROR, ksrFail, type KsrRow } from "./ksr_row.ts";
import { otherSide } from "../proxy/local_address.ts";
import type { SipProto } from "../../config/config.ts";
import { parseUri } from "../message/uri.ts";
import { transportParam } from "../transport/transport_name.ts";
import { reasonPhrase } from "../message/response.ts";

/**
 * Where t_relay sends the request: `$du` if set, else the next hop `loose_route` found, else the
 * Request-URI; always out of the other side (the SBC bridges its two sides).
 */
export function relayTarget(run: ScriptRun): Target | undefined {
  const out = otherSide(run.ctx.inbound.side);
  const { du, routed } = run.state;
  if (du !== undefined) return { out, uri: du };
  if (routed !== undefined) return routed;
  const uri = currentUri(run.ctx);
  const parsed = parseUri(uri);
  if (!parsed || parsed.scheme === "tel") return undefined;
  return { out, uri };
}

const RELAYERS = [ROUTE_KIND.request, ROUTE_KIND.failure] as const;

function relay(row: KsrRow, run: ScriptRun): number {
  const target = relayTarget(run);
  if (!target) {
    run.state.lastError = { status: 416, reason: reasonPhrase(416) };
    ksrFail(row, {
      code: -1,
      detail: `Request-URI ${JSON.stringify(currentUri(run.ctx))} is not a SIP URI`,
    });
    return -1;
  }
  run.ctx.target = target;
  run.relay = true;
  return 1;
}

const tRelayRow: KsrRow = {
  module: "tm",
  name: "t_relay",
  params: [],
  returns: "int",
  kamailio: "KSR.tm.t_relay",
  doc: "Relays the request statefully once the route returns: to $du if set, else to the next " +
    "hop loose_route found, else to the Request-URI, out of the other side. Failures to send " +
    "are answered by the core (404 when the destination does not resolve).",
  codes: [
    [1, "the request will be relayed when the route returns"],
    [-1, "the Request-URI is not a sip: or sips: URI (sl_reply_error answers 416)"],
  ],
  routes: RELAYERS,
  mutates: true,
  fn: (run: ScriptRun) => relay(tRelayRow, run),
};

const PROTOS = new Set(["udp", "tcp", "tls"]);

const tRelayToRow: KsrRow = {
  module: "tm",
  name: "t_relay_to_proto_addr",
  params: ["str", "str", "int"],
  returns: "int",
  kamailio: "KSR.tm.t_relay_to_proto_addr",
  doc: 'Relays to a fixed address: `("udp", "127.0.2.11", 5060)`. Sets $du to it, then acts ' +
    "as t_relay.",
  codes: [[1, "the request will be relayed when the route returns"]],
  routes: RELAYERS,
  mutates: true,
  fn: (run: ScriptRun, proto: string, host: string, port: number) => {
    const p = proto.toLowerCase();
    if (!PROTOS.has(p)) {
      return ksrFail(tRelayToRow, {
        code: KSR_ERROR.badArgument,
        detail: `protocol ${JSON.stringify(proto)} is not udp, tcp or tls`,
      });
    }
    const bracketed = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
    const uri = `sip:${bracketed}:${port}${transportParam(p as SipProto)}`;
    if (port < 1 || port > 65535 || !parseUri(uri)) {
      return ksrFail(tRelayToRow, {
        code: KSR_ERROR.badArgument,
        detail: `${JSON.stringify(`${host}:${port}`)} is not an address`,
      });
    }
    run.state.du = uri;
    return relay(tRelayToRow, run);
  },
};

function armRow(
  name: "t_on_failure" | "t_on_reply" | "t_on_branch",
  slot: "failure" | "reply" | "branch",
  doc: string,
): KsrRow {
  const row: KsrRow = {
    module: "tm",
    name,
    params: ["str"],
    returns: "int",
    kamailio: `KSR.tm.${name}`,
    doc,
    codes: [[1, "armed"], [-1, "the script has no function of that name"]],
    routes: RELAYERS,
    fn: (run: ScriptRun, fn: string) => {
      if (!run.functions.has(fn)) {
        return ksrFail(row, {
          code: -1,
          detail: `the script defines no function ${JSON.stringify(fn)}`,
        });
      }
      run.ctx.callbacks[slot] = fn;
      return 1;
    },
  };
  return row;
}

/** The status the failure or reply route is handling, if any. */
function handledStatus(run: ScriptRun): number | undefined {
  if (run.kind === ROUTE_KIND.reply) return run.reply?.status;
  if (run.kind !== ROUTE_KIND.failure) return undefined;
  const code = run.ctx.vars.get("$T_reply_code");
  return typeof code === "number" ? code : undefined;
}

const tCheckStatusRow: KsrRow = {
  module: "tm",
  name: "t_check_status",
  params: ["str"],
  returns: "bool",
  kamailio: "KSR.tm.t_check_status",
  doc: "Whether the status being handled matches a regular expression over all three digits: " +
    '`"5[0-9][0-9]"`, `"408|480"`. A timeout counts as 408. False outside failure and reply routes.',
  routes: [ROUTE_KIND.request, ROUTE_KIND.failure, ROUTE_KIND.reply],
  fn: (run: ScriptRun, pattern: string) => {
    const re = scriptRegExp(`^(?:${pattern})$`, "");
    if (!re) {
      return ksrFail(tCheckStatusRow, {
        code: KSR_ERROR.badArgument,
        detail: `${JSON.stringify(pattern)} is not a valid regular expression`,
      });
    }
    const status = handledStatus(run);
    return status !== undefined && re.test(String(status));
  },
};

const tIsCanceledRow: KsrRow = {
  module: "tm",
  name: "t_is_canceled",
  params: [],
  returns: "bool",
  kamailio: "KSR.tm.t_is_canceled",
  doc: "Whether the caller sent CANCEL for this request.",
  routes: [ROUTE_KIND.request, ROUTE_KIND.failure, ROUTE_KIND.branch, ROUTE_KIND.reply],
  fn: (run: ScriptRun) => run.ctx.tx?.cancelled === true,
};

const tBranchTimeoutRow: KsrRow = {
  module: "tm",
  name: "t_branch_timeout",
  params: [],
  returns: "bool",
  kamailio: "KSR.tm.t_branch_timeout",
  doc: "In a failure route: whether the failure is a timeout (no final answer came).",
  routes: [ROUTE_KIND.failure],
  fn: (run: ScriptRun) => run.reply === undefined,
};

const REASON = /^[^\r\n]*$/;

function sendReply(row: KsrRow, run: ScriptRun, code: number, reason: string): number {
  const { ctx } = run;
  if (ctx.msg.method === "ACK") {
    return ksrFail(row, { code: -1, detail: "an ACK is never answered" }) as number;
  }
  // A provisional answer leaves the request open (the script may still relay it); the core's
  // request state says so.
  run.actions.reply(ctx, code, reason, run.state.replyHeaders);
  return 1;
}

const sendReplyRow: KsrRow = {
  module: "sl",
  name: "send_reply",
  params: ["int", "str"],
  returns: "int",
  kamailio: "KSR.sl.send_reply",
  doc: "Answers the request (statefully: retransmissions are absorbed). A 1xx leaves the " +
    "request open for t_relay; 2xx-6xx end it.",
  codes: [[1, "sent"], [-1, "the request is an ACK"]],
  routes: RELAYERS,
  mutates: true,
  fn: (run: ScriptRun, code: number, reason: string) => {
    if (code < 100 || code > 699) {
      return ksrFail(sendReplyRow, {
        code: KSR_ERROR.badArgument,
        detail: `status ${code} is not in 100..699`,
      });
    }
    if (!REASON.test(reason)) {
      return ksrFail(sendReplyRow, {
        code: KSR_ERROR.badArgument,
        detail: "reason must be a single line",
      });
    }
    return sendReply(sendReplyRow, run, code, reason);
  },
};

const replyErrorRow: KsrRow = {
  module: "sl",
  name: "sl_reply_error",
  params: [],
  returns: "int",
  kamailio: "KSR.sl.sl_reply_error",
  doc: "Answers with the last error a KSR function recorded: 483 after process_maxfwd, the " +
    "media relay's 503/488 after rtpproxy_manage, 416 after t_relay; 500 when there is none.",
  codes: [[1, "sent"], [-1, "the request is an ACK"]],
  routes: RELAYERS,
  mutates: true,
  fn: (run: ScriptRun) => {
    const error = run.state.lastError ?? { status: 500, reason: reasonPhrase(500) };
    return sendReply(replyErrorRow, run, error.status, error.reason);
  },
};

/** The `KSR.tm` module. */
const tSetFrRow: KsrRow = {
  module: "tm",
  name: "t_set_fr",
  params: ["int", "int"],
  returns: "int",
  kamailio: "KSR.tm.t_set_fr",
  doc:
    "This request's branch timeouts in ms, as Kamailio's: `(fr_inv, fr)`: `fr_inv` how long an " +
    "INVITE may ring without a final answer (fr_inv_timer, `pbx.ring_timeout`), `fr` how long " +
    "any request waits for a first answer (fr_timer, `pbx.reply_timeout`, 32 s at most); 0 " +
    "keeps the configured one. Applies to the relays that follow, failure routes included.",
  codes: [[1, "set"]],
  routes: [ROUTE_KIND.request, ROUTE_KIND.failure, ROUTE_KIND.branch],
  mutates: true,
  fn: (run: ScriptRun, frInv: number, fr: number) => {
    if (frInv < 0 || fr < 0) {
      return ksrFail(tSetFrRow, {
        code: KSR_ERROR.badArgument,
        detail: `timeouts must be 0 or more ms, got (${frInv}, ${fr})`,
      });
    }
    run.ctx.timeouts = {
      ...(frInv > 0 && { ringMs: frInv }),
      ...(fr > 0 && { replyMs: fr }),
    };
    return 1;
  },
};

export const TM_MODULE: readonly KsrRow[] = [
  tRelayRow,
  tRelayToRow,
  armRow(
    "t_on_failure",
    "failure",
    "Names the function to run when the relayed request fails (>= 300 or a timeout); it may " +
      "t_relay again (serial forking). Runs once per arming.",
  ),
  armRow(
    "t_on_reply",
    "reply",
    "Names a function to run for every answer to this request, after ksr_reply_route.",
  ),
  armRow(
    "t_on_branch",
    "branch",
    "Names a function to run right before each relay of this request (also from failure " +
      "routes); it may change the request or drop the branch with KSR.x.drop().",
  ),
  tCheckStatusRow,
  tIsCanceledRow,
  tBranchTimeoutRow,
  tSetFrRow,
];

/** The `KSR.sl` module. */
export const SL_MODULE: readonly KsrRow[] = [sendReplyRow, replyErrorRow];
