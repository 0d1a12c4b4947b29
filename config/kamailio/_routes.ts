/**
 * The route blocks of a kamailio.cfg, walked for `edgesbc import`: where initial requests are
 * relayed (the PBX candidates) and which rtpproxy calls run. Any other statement is recorded as
 * not translated, unless it is something edgesbc's built-in pipeline already does.
 */

import type { SipProto } from "../config.ts";
import type { ImportState } from "./_findings.ts";
import { type Arg, matching, splitArgs, type Stmt, type Token } from "./kamailio_cfg.ts";
import { type Cfg, MODULE_NOTES } from "./_top_level.ts";

/** A relay destination with a literal address, and where it was written. */
export interface PbxCandidate {
  readonly host: string;
  readonly port: number | undefined;
  readonly proto: SipProto | undefined;
  readonly text: string;
  readonly route: string;
  readonly line: number;
}

/** An rtpproxy_manage/offer/answer call and the flags it passes. */
export interface RtpCall {
  readonly flags: string;
  readonly text: string;
  readonly route: string;
  readonly line: number;
  /** Conditions it runs under that do not say which side a message came from. */
  readonly conditions: readonly string[];
}

/** What the routes do that edgesbc has settings for. */
export interface Routes {
  readonly pbx: PbxCandidate[];
  readonly rtp: RtpCall[];
  dispatcher: boolean;
}

interface WalkContext {
  readonly route: string;
  /** Where initial requests are relayed: request_route and the routes it calls. */
  readonly request: boolean;
  /** In the error branch of a sanity or relay check: replies there are edgesbc's own. */
  readonly errorPath: boolean;
  readonly conditions: readonly string[];
}

// deno-fmt-ignore
const LOGGING = new Set([
  "xlog", "xdbg", "xinfo", "xnotice", "xwarn", "xerr", "xbug", "xalert", "xcrit", "log", "xlogl",
]);
// Checks the built-in pipeline does itself, or that only look at the message.
// deno-fmt-ignore
const BUILT_IN = new Set([
  "record_route", "loose_route", "has_body", "is_method", "has_totag", "t_check_trans",
  "t_precheck_trans", "mf_process_maxfwd_header", "sanity_check", "is_request", "is_reply",
  "rtpproxy_destroy", "unforce_rtp_proxy", "t_on_reply",
]);
// Their false branch is an error path: replying there is what edgesbc does on its own.
// deno-fmt-ignore
const ERROR_CHECKS = new Set([
  "mf_process_maxfwd_header", "sanity_check", "t_relay", "t_relay_to_udp", "t_relay_to_tcp",
  "t_check_trans", "forward",
]);
const RELAYS: Readonly<Record<string, SipProto | undefined>> = {
  t_relay: undefined,
  forward: undefined,
  t_relay_to_udp: "udp",
  t_relay_to_tcp: "tcp",
};
const RTP_MANAGE = new Set(["rtpproxy_manage", "rtpproxy_offer", "rtpproxy_answer"]);
// Operands that only say what kind of message it is, which rtpproxy_manage decides on anyway.
const MESSAGE_OPERANDS = new Set(["method", "status", "$rm", "$rs", "$rr"]);
const REPLIES = new Set(["sl_send_reply", "send_reply", "t_reply", "sl_reply_error"]);

/** Walk the routes from request_route and the reply routes, then any never called. */
export function walkRoutes(cfg: Cfg, state: ImportState): Routes {
  const routes: Routes = { pbx: [], rtp: [], dispatcher: cfg.modules.has("dispatcher") };
  const byName = new Map(cfg.blocks.map((block) => [block.name, block]));
  const walked = new Set<string>();
  const untranslated = (ctx: WalkContext, stmt: { text: string; line: number }, why?: string) => {
    const reason = why === undefined ? "" : ` (${why})`;
    state.untranslated.push(`${ctx.route} (line ${stmt.line}): ${stmt.text}${reason}`);
  };

  // `ctx` is the caller's; the block runs with its own name.
  const walkBlock = (name: string, ctx: WalkContext, caller?: Stmt) => {
    const block = byName.get(name);
    if (block === undefined) {
      if (caller !== undefined) untranslated(ctx, caller, "no such route");
      return;
    }
    if (walked.has(name)) return;
    walked.add(name);
    walk(block.body, { ...ctx, route: name });
  };

  const walkCall = (stmt: Extract<Stmt, { kind: "call" }>, ctx: WalkContext): void => {
    const { name, args } = stmt;
    if (LOGGING.has(name) || BUILT_IN.has(name)) {
      if (name === "t_on_reply" && args[0] !== undefined) {
        walkBlock(`onreply_route[${args[0].value}]`, { ...ctx, request: false }, stmt);
      }
      return;
    }
    if (name in RELAYS) {
      if (!ctx.request) return untranslated(ctx, stmt, "relaying from here needs a routing script");
      if (args.length === 0) return; // to $du/$ru, already read
      const [host, port] = args;
      if (!host?.literal || (port !== undefined && !port.literal)) {
        return untranslated(ctx, stmt, "destination is not a literal");
      }
      const split = /^(?:(udp|tcp):)?(\[[^\]]+\]|[^:]+)(?::([0-9]+))?$/i.exec(host.value);
      routes.pbx.push({
        host: (split?.[2] ?? host.value).replace(/^\[|\]$/g, ""),
        port: port !== undefined ? Number(port.value) : split?.[3] ? Number(split[3]) : undefined,
        proto: RELAYS[name] ?? (split?.[1]?.toLowerCase() as SipProto | undefined),
        text: stmt.text,
        route: ctx.route,
        line: stmt.line,
      });
      return;
    }
    if (RTP_MANAGE.has(name)) {
      const [flags, address] = args;
      if (flags !== undefined && !flags.literal) {
        return untranslated(ctx, stmt, "flags are not a literal string");
      }
      if (address !== undefined) {
        state.notes.push(
          `${ctx.route} (line ${stmt.line}): ${stmt.text}: the address argument is not ` +
            "translated; set advertise on the interface instead",
        );
      }
      routes.rtp.push({
        flags: flags?.value ?? "",
        text: stmt.text,
        route: ctx.route,
        line: stmt.line,
        conditions: ctx.conditions,
      });
      return;
    }
    if (name === "route" && args[0] !== undefined) {
      return walkBlock(`route[${args[0].value}]`, ctx, stmt);
    }
    if (name === "t_on_failure" || name === "t_on_branch") {
      const kind = name === "t_on_failure" ? "failure_route" : "branch_route";
      untranslated(ctx, stmt, `${kind} needs a routing script`);
      return walkBlock(`${kind}[${args[0]?.value ?? ""}]`, { ...ctx, request: false });
    }
    if (name.startsWith("ds_")) {
      routes.dispatcher = true;
      return untranslated(ctx, stmt, MODULE_NOTES["dispatcher"]);
    }
    if (REPLIES.has(name) && ctx.errorPath) return;
    untranslated(ctx, stmt);
  };

  const walk = (stmts: readonly Stmt[], ctx: WalkContext): void => {
    for (const stmt of stmts) {
      switch (stmt.kind) {
        case "call":
          walkCall(stmt, ctx);
          break;
        case "assign":
          if ((stmt.target === "$du" || stmt.target === "$ru") && ctx.request) {
            const uri = stmt.value.literal ? parseSipUri(stmt.value.value) : undefined;
            if (uri === undefined) untranslated(ctx, stmt, "destination is not a literal SIP URI");
            else routes.pbx.push({ ...uri, text: stmt.text, route: ctx.route, line: stmt.line });
          } else untranslated(ctx, stmt);
          break;
        case "if": {
          const cond = readCondition(stmt.cond);
          for (const call of cond.calls) {
            walkCall({ kind: "call", ...call, line: stmt.line }, ctx);
          }
          const unknownOperands = cond.operands.filter((op) => !MESSAGE_OPERANDS.has(op));
          const unknownCalls = cond.calls.filter((call) =>
            !BUILT_IN.has(call.name) && !(call.name in RELAYS) && !LOGGING.has(call.name)
          );
          const mapped = unknownOperands.length === 0 && unknownCalls.length === 0;
          if (unknownOperands.length > 0) {
            untranslated(ctx, stmt, "condition ignored: both branches were read");
          }
          const conditions = mapped ? ctx.conditions : [...ctx.conditions, stmt.text];
          const errorPath = ctx.errorPath || cond.calls.some((call) => ERROR_CHECKS.has(call.name));
          walk(stmt.then, { ...ctx, conditions, errorPath });
          const elseConditions = mapped
            ? ctx.conditions
            : [...ctx.conditions, `else of ${stmt.text}`];
          walk(stmt.else, { ...ctx, conditions: elseConditions });
          break;
        }
        case "loop":
          untranslated(ctx, stmt, "loops and switches need a routing script");
          walk(stmt.body, { ...ctx, conditions: [...ctx.conditions, stmt.text] });
          break;
        case "keyword":
          if (stmt.name === "drop" && !ctx.errorPath) untranslated(ctx, stmt);
          break;
        case "other":
          untranslated(ctx, stmt);
      }
    }
  };

  const start: WalkContext = { route: "", request: true, errorPath: false, conditions: [] };
  walkBlock("request_route", start);
  walkBlock("onreply_route", { ...start, request: false });
  walkBlock("reply_route", { ...start, request: false });
  for (const block of cfg.blocks) {
    if (walked.has(block.name)) continue;
    // The core runs event and onsend routes by itself; other named routes must be called.
    if (block.kind !== "event_route" && block.kind !== "onsend_route") {
      state.notes.push(`${block.name} is never called: its statements were read but do not run`);
    }
    walkBlock(block.name, { ...start, request: false });
  }
  return routes;
}

/** The calls and the non-literal operands of a condition. */
function readCondition(tokens: readonly Token[]): {
  calls: { name: string; args: Arg[]; text: string }[];
  operands: string[];
} {
  const calls: { name: string; args: Arg[]; text: string }[] = [];
  const operands: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.kind !== "word") continue;
    if (tokens[i + 1]?.text === "(") {
      const close = matching(tokens, i + 1);
      const args = splitArgs(tokens.slice(i + 2, close));
      const text = `${token.text}(${tokens.slice(i + 2, close).map((t) => t.text).join(" ")})`;
      calls.push({ name: token.text, args, text });
      i = close;
    } else if (!/^[0-9.:]+$/.test(token.text) && !/^[A-Z0-9_]+$/.test(token.text)) {
      operands.push(token.text);
    }
  }
  return { calls, operands };
}

function parseSipUri(text: string): Omit<PbxCandidate, "text" | "route" | "line"> | undefined {
  const match = /^sips?:(?:[^@;]*@)?(\[[^\]]+\]|[^:;>]+)(?::([0-9]+))?((?:;[^;]*)*)$/i.exec(
    text.trim(),
  );
  if (match === null) return undefined;
  const transport = /;transport=(udp|tcp)/i.exec(match[3] ?? "")?.[1]?.toLowerCase();
  return {
    host: match[1]!.replace(/^\[|\]$/g, ""),
    port: match[2] === undefined ? undefined : Number(match[2]),
    proto: transport as SipProto | undefined,
  };
}
