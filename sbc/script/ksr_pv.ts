/**
 * Pseudo-variables (Kamailio's `$ru`, `$si`, `$var(x)`, ...) and the `KSR.pv` functions that read
 * and write them. Each variable is one row: its name, what it holds, and how to read and write it.
 */
import { isOpen, type SipContext } from "../proxy/context.ts";
import { ANY_ROUTE, EDITING_ROUTES, ROUTE_KIND, type ScriptRun } from "./ksr_run.ts";
import { KSR_ERROR, ksrFail, type KsrRow } from "./ksr_row.ts";
import { getHeader } from "../message/message.ts";
import { type SipMessage } from "../message/sip_message.ts";
import { parseNameAddr } from "../message/header_codecs.ts";
import { formatUri, parseUri, type SipUri } from "../message/uri.ts";

export type PvValue = string | number | null;

/** Why a write was refused; the pv.sets row turns it into its code. */
const SET_RESULT = { ok: 1, readOnly: -2, invalid: -3, wrongRoute: -4 } as const;
type SetResult = typeof SET_RESULT[keyof typeof SET_RESULT];

export interface PvRow {
  /** As written in scripts; `(name)` marks a variable that takes an argument. */
  readonly name: string;
  readonly doc: string;
  readonly get: (run: ScriptRun, arg: string) => PvValue;
  /** Absent: read-only. `value` is a string or an integer (pv.sets / pv.seti). */
  readonly set?: (run: ScriptRun, value: string | number | undefined, arg: string) => SetResult;
  /** A message variable: writable only where the request can still change. */
  readonly message?: boolean;
}

/** The Request-URI as the script left it: the last `set-uri` edit, else as received. */
export function currentUri(ctx: SipContext): string {
  for (let i = ctx.edits.length - 1; i >= 0; i--) {
    const edit = ctx.edits[i]!;
    if (edit.op === "set-uri") return edit.uri;
  }
  return ctx.msg.uri;
}

/** The message header-based variables read: the answer in reply routes, else the request. */
function msgOf(run: ScriptRun): SipMessage {
  return run.kind === ROUTE_KIND.reply && run.reply ? run.reply : run.ctx.msg;
}

function requestUri(run: ScriptRun): SipUri | undefined {
  return run.kind === ROUTE_KIND.reply ? undefined : parseUri(currentUri(run.ctx));
}

function nameAddrUri(run: ScriptRun, header: string): SipUri | undefined {
  const value = getHeader(msgOf(run), header);
  const na = value === undefined ? undefined : parseNameAddr(value);
  return na && parseUri(na.uri);
}

function nameAddrText(run: ScriptRun, header: string): string | null {
  const value = getHeader(msgOf(run), header);
  return (value === undefined ? undefined : parseNameAddr(value)?.uri) ?? null;
}

function tag(run: ScriptRun, header: "from" | "to"): string | null {
  const msg = msgOf(run);
  return (header === "from" ? msg.fromTag : msg.toTag) ?? null;
}

/** Rewrites one part of the Request-URI (set-uri edit); undefined `part` values remove it. */
function rewriteUri(run: ScriptRun, change: (u: SipUri) => SipUri | undefined): SetResult {
  const uri = parseUri(currentUri(run.ctx));
  if (!uri || uri.scheme === "tel") return SET_RESULT.invalid;
  const next = change(uri);
  if (!next) return SET_RESULT.invalid;
  const text = formatUri(next);
  if (!parseUri(text)) return SET_RESULT.invalid;
  run.ctx.edits.push({ op: "set-uri", uri: text });
  return SET_RESULT.ok;
}

const USER = /^[^\s@:;?<>"]+$/;

/** Every pseudo-variable scripts can name, in the order the docs list them. */
export const PV_ROWS: readonly PvRow[] = [
  {
    name: "$rm",
    doc: "Request method (for answers: the CSeq method).",
    get: (run) => msgOf(run).method,
  },
  {
    name: "$ru",
    doc: "Request-URI, with the script's rewrites. Writable: must be a sip:, sips: or tel: URI.",
    get: (run) => run.kind === ROUTE_KIND.reply ? null : currentUri(run.ctx),
    set: (run, value) => {
      if (typeof value !== "string" || !parseUri(value)) return SET_RESULT.invalid;
      run.ctx.edits.push({ op: "set-uri", uri: value });
      return SET_RESULT.ok;
    },
    message: true,
  },
  {
    name: "$rU",
    doc: "User part of the Request-URI. Writable; an empty string removes it.",
    get: (run) => requestUri(run)?.user ?? null,
    set: (run, value) =>
      rewriteUri(run, (u) => {
        const user = String(value ?? "");
        if (user !== "" && !USER.test(user)) return undefined;
        return { ...u, user: user === "" ? undefined : user, password: undefined };
      }),
    message: true,
  },
  {
    name: "$rd",
    doc: "Host part of the Request-URI. Writable.",
    get: (run) => requestUri(run)?.host ?? null,
    set: (run, value) =>
      typeof value === "string" && value !== ""
        ? rewriteUri(run, (u) => ({ ...u, host: value.toLowerCase() }))
        : SET_RESULT.invalid,
    message: true,
  },
  {
    name: "$rp",
    doc: "Port of the Request-URI (5060 when absent). Writable; 0 or an empty string removes it.",
    get: (run) => {
      const u = requestUri(run);
      return u ? u.port ?? 5060 : null;
    },
    set: (run, value) => {
      const port = value === "" ? 0 : Number(value);
      if (!Number.isInteger(port) || port < 0 || port > 65535) return SET_RESULT.invalid;
      return rewriteUri(run, (u) => ({ ...u, port: port === 0 ? undefined : port }));
    },
    message: true,
  },
  {
    name: "$du",
    doc: "Destination URI: where t_relay sends instead of the Request-URI (which stays as it " +
      'is). Writable: a sip: or sips: URI, `;transport=tcp` for TCP; unset or "" clears it.',
    get: (run) => run.state.du ?? null,
    set: (run, value) => {
      if (value === undefined || value === "") {
        run.state.du = undefined;
        return SET_RESULT.ok;
      }
      const u = typeof value === "string" ? parseUri(value) : undefined;
      if (!u || u.scheme === "tel") return SET_RESULT.invalid;
      run.state.du = value as string;
      return SET_RESULT.ok;
    },
    message: true,
  },
  {
    name: "$si",
    doc: "Source IP of the request (also in reply routes).",
    get: (run) => run.ctx.inbound.source.host,
  },
  {
    name: "$sp",
    doc: "Source port of the request (also in reply routes).",
    get: (run) => run.ctx.inbound.source.port,
  },
  {
    name: "$Ri",
    doc: "Local IP the request arrived on.",
    get: (run) => run.ctx.inbound.local.host,
  },
  {
    name: "$Rp",
    doc: "Local port the request arrived on.",
    get: (run) => run.ctx.inbound.local.port,
  },
  {
    name: "$proto",
    doc: 'Transport the request arrived on: "udp", "tcp" or "tls".',
    get: (run) => run.ctx.inbound.proto,
  },
  { name: "$ci", doc: "Call-ID.", get: (run) => msgOf(run).callId },
  { name: "$cs", doc: "CSeq number.", get: (run) => msgOf(run).cseq.seq },
  { name: "$fu", doc: "From URI.", get: (run) => nameAddrText(run, "from") },
  {
    name: "$fU",
    doc: "User part of the From URI.",
    get: (run) => nameAddrUri(run, "from")?.user ?? null,
  },
  {
    name: "$fd",
    doc: "Host part of the From URI.",
    get: (run) => nameAddrUri(run, "from")?.host ?? null,
  },
  { name: "$ft", doc: "From tag.", get: (run) => tag(run, "from") },
  { name: "$tu", doc: "To URI.", get: (run) => nameAddrText(run, "to") },
  {
    name: "$tU",
    doc: "User part of the To URI.",
    get: (run) => nameAddrUri(run, "to")?.user ?? null,
  },
  {
    name: "$td",
    doc: "Host part of the To URI.",
    get: (run) => nameAddrUri(run, "to")?.host ?? null,
  },
  {
    name: "$tt",
    doc: "To tag; null for an initial request (the usual in-dialog test).",
    get: (run) => tag(run, "to"),
  },
  {
    name: "$rs",
    doc: "Status code of the answer (reply routes; failure routes unless it timed out).",
    get: (run) => run.reply?.status ?? null,
  },
  {
    name: "$rr",
    doc: "Reason phrase of the answer (reply routes; failure routes unless it timed out).",
    get: (run) => run.reply?.reason ?? null,
  },
  {
    name: "$T_reply_code",
    doc: "Status of the answer being handled: in failure routes 408 for a timeout.",
    get: (run) => {
      if (run.kind === ROUTE_KIND.reply) return run.reply?.status ?? null;
      const code = run.ctx.vars.get("$T_reply_code");
      return typeof code === "number" ? code : null;
    },
  },
  {
    name: "$ua",
    doc: "User-Agent header.",
    get: (run) => getHeader(msgOf(run), "user-agent") ?? null,
  },
  { name: "$ml", doc: "Message length in bytes.", get: (run) => msgOf(run).raw.length },
  { name: "$mb", doc: "The whole message as received.", get: (run) => msgOf(run).raw },
  { name: "$rb", doc: 'Message body as received ("" when none).', get: (run) => msgOf(run).body },
  {
    name: "$hdr(name)",
    doc: "First value of a header (any case, compact forms too); null when absent.",
    get: (run, arg) => getHeader(msgOf(run), arg) ?? null,
  },
  {
    name: "$var(name)",
    doc: "Script variable of this request: a string or integer, kept from the request route " +
      "into its failure, branch and reply routes; null until set.",
    get: (run, arg) => run.ctx.vars.get(`$var(${arg})`) ?? null,
    set: (run, value, arg) => {
      if (value === undefined) run.ctx.vars.delete(`$var(${arg})`);
      else run.ctx.vars.set(`$var(${arg})`, value);
      return SET_RESULT.ok;
    },
  },
];

const BY_NAME = new Map<string, PvRow>();
for (const row of PV_ROWS) {
  const open = row.name.indexOf("(");
  BY_NAME.set(open < 0 ? row.name : row.name.slice(0, open) + "()", row);
}

const PV_NAME = /^(\$[A-Za-z_]+)(?:\(([^()]+)\))?$/;

/** Finds the row for `$name` or `$name(arg)`; undefined for unknown names. */
export function lookupPv(name: string): { row: PvRow; arg: string } | undefined {
  const m = PV_NAME.exec(name);
  if (!m) return undefined;
  const arg = m[2];
  const row = BY_NAME.get(arg === undefined ? m[1]! : `${m[1]}()`);
  return row ? { row, arg: arg ?? "" } : undefined;
}

const SET_CODES = [
  [1, "set"],
  [-1, "unknown variable"],
  [-2, "read-only variable"],
  [-3, "value not valid for this variable (not a URI, host or port)"],
  [-4, "message variables cannot change here (reply routes, or after t_relay)"],
] as const;

function write(row: KsrRow, run: ScriptRun, name: string, value: string | number | undefined) {
  const found = lookupPv(name);
  if (!found) return ksrFail(row, { code: -1, detail: `unknown variable ${JSON.stringify(name)}` });
  const { row: pv, arg } = found;
  if (!pv.set) return ksrFail(row, { code: -2, detail: `${name} is read-only` });
  if (pv.message && (run.kind === ROUTE_KIND.reply || run.relay || !isOpen(run.ctx))) {
    return ksrFail(row, {
      code: -4,
      detail:
        `${name} cannot change in a ${run.kind} route or after the request was relayed or answered`,
    });
  }
  const result = pv.set(run, value, arg);
  if (result === SET_RESULT.invalid) {
    return ksrFail(row, {
      code: -3,
      detail: `${JSON.stringify(value)} is not a valid value for ${name}`,
    });
  }
  return result;
}

function read(row: KsrRow, run: ScriptRun, name: string): PvValue | undefined {
  const found = lookupPv(name);
  if (!found) {
    ksrFail(row, {
      code: KSR_ERROR.badArgument,
      detail: `unknown variable ${JSON.stringify(name)}`,
    });
    return undefined;
  }
  return found.row.get(run, found.arg);
}

const ANY = ANY_ROUTE;
const WRITERS = EDITING_ROUTES;

const getRow: KsrRow = {
  module: "pv",
  name: "get",
  params: ["str"],
  returns: "str|int|null",
  kamailio: "KSR.pv.get",
  doc: "Value of a pseudo-variable (see the variable list); null when it has none.",
  routes: ANY,
  fn: (run: ScriptRun, name: string) => read(getRow, run, name) ?? null,
};

const setsRow: KsrRow = {
  module: "pv",
  name: "sets",
  params: ["str", "str"],
  returns: "int",
  kamailio: "KSR.pv.sets",
  doc: "Sets a writable variable to a string.",
  codes: SET_CODES,
  routes: WRITERS,
  fn: (run: ScriptRun, name: string, value: string) => write(setsRow, run, name, value),
};

const setiRow: KsrRow = {
  module: "pv",
  name: "seti",
  params: ["str", "int"],
  returns: "int",
  kamailio: "KSR.pv.seti",
  doc: "Sets a writable variable to an integer ($var(name), $rp).",
  codes: SET_CODES,
  routes: WRITERS,
  fn: (run: ScriptRun, name: string, value: number) => write(setiRow, run, name, value),
};

const unsetRow: KsrRow = {
  module: "pv",
  name: "unset",
  params: ["str"],
  returns: "int",
  kamailio: "KSR.pv.unset",
  doc: "Clears a variable: $du, $var(name).",
  codes: SET_CODES,
  routes: WRITERS,
  fn: (run: ScriptRun, name: string) => {
    const found = lookupPv(name);
    if (found && found.row.name !== "$du" && found.row.name !== "$var(name)") {
      return ksrFail(unsetRow, { code: -2, detail: `${name} cannot be unset` });
    }
    return write(unsetRow, run, name, undefined);
  },
};

const isNullRow: KsrRow = {
  module: "pv",
  name: "is_null",
  params: ["str"],
  returns: "bool",
  kamailio: "KSR.pv.is_null",
  doc: "Whether a variable has no value (unknown names log an error and give false).",
  routes: ANY,
  fn: (run: ScriptRun, name: string) => {
    const value = read(isNullRow, run, name);
    return value === undefined ? false : value === null;
  },
};

/** The `KSR.pv` module. */
export const PV_MODULE: readonly KsrRow[] = [getRow, setsRow, setiRow, unsetRow, isNullRow];
