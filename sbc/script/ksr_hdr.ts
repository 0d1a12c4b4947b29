/**
 * Header functions: `KSR.hdr` (Kamailio core KEMI) and `KSR.textops.remove_hf_re`. In request,
 * failure and branch routes they read and edit the request; in reply routes, the answer. Reads see
 * the message as received, not the script's own edits (as Kamailio's lumps).
 */
import { headerKey, isToken } from "../message/header_codecs.ts";
import { EDITING_ROUTES, ROUTE_KIND, type ScriptRun } from "./ksr_run.ts";
import { KSR_ERROR, ksrFail, type KsrRow } from "./ksr_row.ts";
import { getHeader } from "../message/message.ts";
import { type Edit, type SipMessage } from "../message/sip_message.ts";

/** A header line as scripts write it: `Name: value`, with or without the final CRLF. */
const HEADER_LINE = /^([^:\s]+)[ \t]*:[ \t]*(.*)$/;

/** Parses one or more `Name: value` lines; undefined when any is malformed (CR/LF injection). */
export function parseHeaderLines(text: string): [string, string][] | undefined {
  const body = text.endsWith("\r\n")
    ? text.slice(0, -2)
    : text.endsWith("\n")
    ? text.slice(0, -1)
    : text;
  if (body === "") return undefined;
  const out: [string, string][] = [];
  for (const line of body.split(/\r?\n/)) {
    const m = HEADER_LINE.exec(line);
    if (!m || !isToken(m[1]!) || /[\r\n]/.test(m[2]!)) return undefined;
    out.push([m[1]!, m[2]!.trimEnd()]);
  }
  return out;
}

/** The message header functions act on in this run. */
function target(run: ScriptRun): { msg: SipMessage; edits: Edit[] } {
  if (run.kind === ROUTE_KIND.reply && run.reply && run.replyEdits) {
    return { msg: run.reply, edits: run.replyEdits };
  }
  return { msg: run.ctx.msg, edits: run.ctx.edits };
}

const EDITORS = EDITING_ROUTES;
const READERS = [...EDITORS, ROUTE_KIND.onsend] as const;

const appendRow: KsrRow = {
  module: "hdr",
  name: "append",
  params: ["str"],
  returns: "int",
  kamailio: "KSR.hdr.append",
  doc: 'Adds header lines after the last header: `"X-Foo: bar"` (a final CRLF is optional; ' +
    "several lines may be joined with CRLF).",
  codes: [[1, "added"]],
  routes: EDITORS,
  mutates: true,
  fn: (run: ScriptRun, text: string) => {
    const lines = parseHeaderLines(text);
    if (!lines) {
      return ksrFail(appendRow, {
        code: KSR_ERROR.badArgument,
        detail: `${JSON.stringify(text)} is not "Name: value"`,
      });
    }
    const { edits } = target(run);
    for (const [name, value] of lines) edits.push({ op: "append", name, value });
    return 1;
  },
};

function badName(row: KsrRow, name: string) {
  return ksrFail(row, {
    code: KSR_ERROR.badArgument,
    detail: `${JSON.stringify(name)} is not a header name`,
  });
}

const removeRow: KsrRow = {
  module: "hdr",
  name: "remove",
  params: ["str"],
  returns: "int",
  kamailio: "KSR.hdr.remove",
  doc: "Removes every line of a header (any case, compact forms too).",
  codes: [[1, "removed"], [-1, "the message has no such header"]],
  routes: EDITORS,
  mutates: true,
  fn: (run: ScriptRun, name: string) => {
    if (!isToken(name)) return badName(removeRow, name);
    const { msg, edits } = target(run);
    if (getHeader(msg, name) === undefined) return -1;
    edits.push({ op: "remove-all", name });
    return 1;
  },
};

const isPresentRow: KsrRow = {
  module: "hdr",
  name: "is_present",
  params: ["str"],
  returns: "bool",
  kamailio: "KSR.hdr.is_present",
  doc: "Whether the message has the header.",
  routes: READERS,
  fn: (run: ScriptRun, name: string) => {
    if (!isToken(name)) return badName(isPresentRow, name);
    return getHeader(target(run).msg, name) !== undefined;
  },
};

const getRow: KsrRow = {
  module: "hdr",
  name: "get",
  params: ["str"],
  returns: "str|null",
  kamailio: "KSR.hdr.get",
  doc: "Value of the first line of a header; null when absent.",
  routes: READERS,
  fn: (run: ScriptRun, name: string) => {
    if (!isToken(name)) return badName(getRow, name);
    return getHeader(target(run).msg, name) ?? null;
  },
};

const appendToReplyRow: KsrRow = {
  module: "hdr",
  name: "append_to_reply",
  params: ["str"],
  returns: "int",
  kamailio: "KSR.hdr.append_to_reply",
  doc: "Adds header lines to the replies the script sends itself (sl.send_reply, " +
    "sl.sl_reply_error), not to relayed answers.",
  codes: [[1, "added"]],
  routes: [ROUTE_KIND.request, ROUTE_KIND.failure],
  fn: (run: ScriptRun, text: string) => {
    const lines = parseHeaderLines(text);
    if (!lines) {
      return ksrFail(appendToReplyRow, {
        code: KSR_ERROR.badArgument,
        detail: `${JSON.stringify(text)} is not "Name: value"`,
      });
    }
    run.state.replyHeaders.push(...lines);
    return 1;
  },
};

const REGEXP_CACHE_MAX = 64;
const regexps = new Map<string, RegExp>();

/** Compiles a script's regular expression once; undefined when it does not compile. */
export function scriptRegExp(source: string, flags: string): RegExp | undefined {
  const key = `${flags}/${source}`;
  let re = regexps.get(key);
  if (re === undefined) {
    try {
      re = new RegExp(source, flags);
    } catch {
      return undefined;
    }
    if (regexps.size < REGEXP_CACHE_MAX) regexps.set(key, re);
  }
  return re;
}

const removeHfReRow: KsrRow = {
  module: "textops",
  name: "remove_hf_re",
  params: ["str"],
  returns: "int",
  kamailio: "KSR.textops.remove_hf_re",
  doc: "Removes every header whose name matches a regular expression (case-insensitive, " +
    'JavaScript syntax): `"^X-Internal-"`.',
  codes: [[1, "removed at least one header"], [-1, "no header matched"]],
  routes: EDITORS,
  mutates: true,
  fn: (run: ScriptRun, pattern: string) => {
    const re = scriptRegExp(pattern, "i");
    if (!re) {
      return ksrFail(removeHfReRow, {
        code: KSR_ERROR.badArgument,
        detail: `${JSON.stringify(pattern)} is not a valid regular expression`,
      });
    }
    const { msg, edits } = target(run);
    const names = new Set<string>();
    for (const h of msg.headers) if (re.test(h.name)) names.add(headerKey(h.name));
    for (const name of names) edits.push({ op: "remove-all", name });
    return names.size > 0 ? 1 : -1;
  },
};

/** The `KSR.hdr` module. */
export const HDR_MODULE: readonly KsrRow[] = [
  appendRow,
  removeRow,
  isPresentRow,
  getRow,
  appendToReplyRow,
];

/** The `KSR.textops` module (the one function edgesbc has of it). */
export const TEXTOPS_MODULE: readonly KsrRow[] = [removeHfReRow];
