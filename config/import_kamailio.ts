/**
 * `edgesbc import`: turn a Kamailio bridge-mode config plus rtpproxy's command line into an
 * equivalent edgesbc TOML config, with a comment saying where each value came from.
 *
 * Pure: text in, text and warnings out. Nothing the importer does not understand is dropped
 * silently; it is listed as `# not translated: …` at the top of the TOML and in `warnings`.
 */

import type { SipProto } from "./config.ts";
import { INTERFACE_FLAGS, REFUSED_FLAGS } from "./schema.ts";
import { isIpAddress } from "./socket_address.ts";
import { parseRtpproxyArgs, RTPPROXY_DEFAULTS, splitShellWords } from "./rtpproxy_args.ts";

/** The TOML config and what an operator must read before using it. */
export interface ImportResult {
  readonly toml: string;
  /** `not translated: …` entries first, then notes about choices the importer made. */
  readonly warnings: string[];
}

/**
 * Translate a Kamailio cfg and (optionally) rtpproxy's arguments into edgesbc TOML.
 *
 * @param cfgText The kamailio.cfg text.
 * @param rtpproxyArgs rtpproxy's command line (`-l A/B -m … -M …`), if known.
 * @example
 * ```ts
 * import { importKamailio } from "./import_kamailio.ts";
 * const cfg = "listen=udp:10.0.1.1:5060\nlisten=udp:10.0.2.1:5060\n" +
 *   'request_route {\n  t_relay("10.0.2.9", "5060");\n}\n';
 * const { toml } = importKamailio(cfg, "-l 10.0.1.1/10.0.2.1");
 * // toml has [interfaces.internal] with sip = ["udp:10.0.2.1:5060"] and the PBX at 10.0.2.9
 * ```
 */
export function importKamailio(cfgText: string, rtpproxyArgs: string | undefined): ImportResult {
  const state: ImportState = { untranslated: [], notes: [], ignored: [] };
  const cfg = readCfg(cfgText, state);
  const routes = walkRoutes(cfg, state);
  const rtp = rtpproxyArgs === undefined ? undefined : parseRtpproxyArgs(rtpproxyArgs);
  if (rtp === undefined) {
    state.notes.push(
      "no rtpproxy arguments given (--rtpproxy): media addresses are the SIP addresses and the " +
        "port range and timeout are rtpproxy's defaults",
    );
  } else {
    state.notes.push(...rtp.warnings);
    for (const skipped of rtp.skipped) {
      if (skipped.warned) continue;
      const value = skipped.value === undefined ? "" : ` ${skipped.value}`;
      state.ignored.push(`rtpproxy ${skipped.option}${value} (${skipped.note})`);
    }
  }
  const toml = buildToml(cfg, routes, rtp, state);
  const warnings = [
    ...state.untranslated.map((entry) => `not translated: ${entry}`),
    ...state.notes,
  ];
  return { toml, warnings };
}

interface ImportState {
  /** Statements with no edgesbc equivalent. */
  readonly untranslated: string[];
  /** Choices and doubts worth an operator's attention. */
  readonly notes: string[];
  /** Settings read and deliberately left out (tuning with no equivalent), shown as a comment. */
  readonly ignored: string[];
}

// ---------------------------------------------------------------------------------------------
// Lexing: comments out, tokens with offsets so messages can quote the original text and line.

interface Token {
  readonly kind: "word" | "string" | "punct";
  readonly text: string;
  /** The string's content without quotes; the text for other kinds. */
  readonly value: string;
  readonly start: number;
  readonly end: number;
  readonly line: number;
}

/** Replace comments with spaces (keeping offsets and newlines) and collect `#!` directives. */
function stripComments(text: string): { code: string; directives: Token[] } {
  const out = text.split("");
  const directives: Token[] = [];
  let line = 1;
  const blank = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (out[k] !== "\n") out[k] = " ";
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "\n") {
      line++;
      continue;
    }
    if (c === '"' || c === "'") {
      i = skipString(text, i) - 1;
      continue;
    }
    const atLineStart = /^[ \t]*$/.test(text.slice(text.lastIndexOf("\n", i - 1) + 1, i));
    const rest = text.slice(i, i + 2);
    if (rest === "/*") {
      const close = text.indexOf("*/", i + 2);
      const end = close < 0 ? text.length : close + 2;
      blank(i, end);
      line += (text.slice(i, end).match(/\n/g) ?? []).length;
      i = end - 1;
    } else if (c === "#" || rest === "//") {
      const eol = text.indexOf("\n", i);
      const end = eol < 0 ? text.length : eol;
      // `#!define`, `#!ifdef`…: Kamailio's preprocessor (`!!` is its other spelling).
      if (rest === "#!" && atLineStart) {
        const body = text.slice(i, end).trim();
        directives.push({ kind: "word", text: body, value: body, start: i, end, line });
      }
      blank(i, end);
      i = end - 1;
    } else if (rest === "!!" && atLineStart) {
      const eol = text.indexOf("\n", i);
      const end = eol < 0 ? text.length : eol;
      const body = "#!" + text.slice(i + 2, end).trim();
      directives.push({ kind: "word", text: body, value: body, start: i, end, line });
      blank(i, end);
      i = end - 1;
    }
  }
  return { code: out.join(""), directives };
}

/** Index just past the string starting at `start` ("…" has backslash escapes, '…' has none). */
function skipString(text: string, start: number): number {
  const quote = text[start];
  for (let i = start + 1; i < text.length; i++) {
    if (quote === '"' && text[i] === "\\") i++;
    else if (text[i] === quote) return i + 1;
  }
  return text.length;
}

const OPERATORS = ["==", "!=", "=~", "!~", ">=", "<=", "&&", "||", "+=", "-="];

function tokenize(code: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  const push = (kind: Token["kind"], end: number, value?: string) => {
    const text = code.slice(i, end);
    tokens.push({ kind, text, value: value ?? text, start: i, end, line });
    line += (text.match(/\n/g) ?? []).length;
    i = end;
  };
  while (i < code.length) {
    const c = code[i]!;
    if (c === "\n") {
      line++;
      i++;
    } else if (/\s/.test(c)) {
      i++;
    } else if (c === '"' || c === "'") {
      const end = skipString(code, i);
      const inner = code.slice(i + 1, end - 1);
      push("string", end, c === '"' ? inner.replace(/\\(.)/g, "$1") : inner);
    } else if (c === "$") {
      // Pseudo-variables: $du, $var(x), $hdr(X-Y), $(ru{s.len}).
      let end = i + 1;
      while (end < code.length && /[A-Za-z0-9_.]/.test(code[end]!)) end++;
      if (code[end] === "(" || code[end] === "{") end = skipGroup(code, end);
      push("word", end);
    } else if (/[A-Za-z0-9_.:@]/.test(c)) {
      let end = i + 1;
      while (end < code.length && /[A-Za-z0-9_.:@]/.test(code[end]!)) end++;
      push("word", end);
    } else {
      const op = OPERATORS.find((candidate) => code.startsWith(candidate, i));
      push("punct", i + (op?.length ?? 1));
    }
  }
  return tokens;
}

function skipGroup(code: string, open: number): number {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    const c = code[i]!;
    if (c === '"' || c === "'") i = skipString(code, i) - 1;
    else if (c === "(" || c === "{") depth++;
    else if ((c === ")" || c === "}") && --depth === 0) return i + 1;
  }
  return code.length;
}

// ---------------------------------------------------------------------------------------------
// The cfg's top level: global parameters, modules, route blocks.

interface Listen {
  readonly proto: SipProto | undefined;
  readonly host: string;
  readonly port: number | undefined;
  readonly advertise: string | undefined;
  readonly advertisePort: number | undefined;
  /** The statement as written, for `# from:` comments. */
  readonly text: string;
}

interface Block {
  /** `request_route`, `route[RELAY]`, `onreply_route[MANAGE]`, … */
  readonly name: string;
  readonly kind: string;
  readonly body: Stmt[];
}

interface Cfg {
  readonly listens: Listen[];
  readonly blocks: Block[];
  readonly modules: Set<string>;
  readonly defaultPort: number | undefined;
  readonly tcpDisabled: boolean;
  readonly tcpLifetime: { value: number; text: string } | undefined;
}

const ROUTE_KINDS = [
  "request_route",
  "route",
  "reply_route",
  "onreply_route",
  "failure_route",
  "branch_route",
  "onsend_route",
  "event_route",
];

// Modules whose work the built-in pipeline already does, or that only log or parse.
// deno-fmt-ignore
const HARMLESS_MODULES = new Set([
  "tm", "tmx", "rr", "pv", "textops", "textopsx", "xlog", "sl", "maxfwd", "siputils", "sanity",
  "kex", "corex", "ctl", "cfg_rpc", "jsonrpcs", "mi_fifo", "mi_rpc", "counters", "rtpproxy",
]);

const MODULE_NOTES: Readonly<Record<string, string>> = {
  nathelper: "SIP NAT fixing; edgesbc answers to the source address and latches media, but " +
    "Contact rewriting and keepalives need a routing script",
  dispatcher: "edgesbc has one PBX address; load balancing and failover need a routing script",
  auth_db: "authentication is left to the PBX",
  auth: "authentication is left to the PBX",
  registrar: "registrations are passed to the PBX",
  usrloc: "registrations are passed to the PBX",
  htable: "shared tables need a routing script",
  dialog: "dialog tracking is not exposed to routing",
  permissions: "address filtering needs a routing script or a firewall",
  pike: "flood protection needs a firewall",
  tls: "TLS is not supported",
};

// Global parameters about processes, logging and DNS: no edgesbc equivalent is needed.
// deno-fmt-ignore
const TUNING_PARAMS = new Set([
  "debug", "log_stderror", "log_facility", "log_name", "log_prefix", "log_color", "fork",
  "children", "tcp_async", "tcp_children", "tcp_max_connections", "tcp_accept_no_cl",
  "auto_aliases", "mpath", "loadpath", "memdbg", "memlog", "dns", "rev_dns", "dns_try_ipv6",
  "use_dns_cache", "use_dns_failover", "dns_cache_init", "maxbuffer", "open_files_limit",
  "corelog", "async_workers", "user", "group", "pv_buffer_size", "pv_buffer_slots",
  "max_while_loops", "mhomed", "server_signature", "sip_warning", "disable_sctp", "enable_sctp",
  "latency_log", "latency_limit_action", "latency_limit_db", "shm_force_alloc", "mlock_pages",
]);

function readCfg(text: string, state: ImportState): Cfg {
  const { code, directives } = stripComments(text);
  const defines = readDirectives(directives, state);
  const substitute = (value: string) =>
    value.replace(/[A-Za-z_][A-Za-z0-9_]*/g, (word) => defines.get(word) ?? word);
  const tokens = tokenize(code).map((token) =>
    token.kind === "word" && defines.has(token.text)
      ? { ...token, kind: "string" as const, value: defines.get(token.text)! }
      : token
  );
  const cfg: Cfg = {
    listens: [],
    blocks: [],
    modules: new Set(),
    defaultPort: undefined,
    tcpDisabled: false,
    tcpLifetime: undefined,
  };
  let defaultPort: number | undefined;
  let tcpDisabled = false;
  let tcpLifetime: Cfg["tcpLifetime"];
  const rawListens: { value: string; text: string; line: number }[] = [];

  let i = 0;
  while (i < tokens.length) {
    const token = tokens[i]!;
    const lineEnd = (from: Token) => {
      const eol = code.indexOf("\n", from.start);
      return eol < 0 ? code.length : eol;
    };
    const skipTo = (offset: number) => {
      while (i < tokens.length && tokens[i]!.start < offset) i++;
    };
    const where = `line ${token.line}`;
    if (token.kind !== "word") {
      state.untranslated.push(`${where}: unexpected "${token.text}"`);
      i++;
      continue;
    }
    const name = token.text;
    if (ROUTE_KINDS.includes(name)) {
      let j = i + 1;
      let label = "";
      if (tokens[j]?.text === "[") {
        const close = tokens.findIndex((t, k) => k > j && t.text === "]");
        label = tokens.slice(j + 1, close).map((t) => t.value).join("");
        j = close + 1;
      }
      if (tokens[j]?.text === "{") {
        const parsed = parseBlock(tokens, j, code);
        const kind = name === "route" && label === "" ? "request_route" : name;
        cfg.blocks.push({
          name: label === "" ? kind : `${kind}[${label}]`,
          kind,
          body: parsed.body,
        });
        i = parsed.next;
        continue;
      }
    }
    if (name === "modparam" || name === "modparamx") {
      const close = matching(tokens, i + 1);
      const args = splitArgs(tokens.slice(i + 2, close));
      const module = args[0]?.value ?? "";
      const text = collapse(code.slice(token.start, tokens[close]?.end ?? code.length));
      if (HARMLESS_MODULES.has(module)) {
        state.ignored.push(
          module === "rtpproxy" ? `${text} (edgesbc drives its own relay)` : text,
        );
      } else state.untranslated.push(`${where}: ${text}`);
      i = close + 1;
      if (tokens[i]?.text === ";") i++;
      continue;
    }
    // Everything else is `name [=] value` up to the end of its line.
    const end = lineEnd(token);
    const text = collapse(code.slice(token.start, end));
    const value = substitute(
      code.slice(token.end, end).trim().replace(/^=/, "").replace(/;$/, "").trim(),
    );
    skipTo(end);
    if (name === "loadmodule" || name === "loadmodulex") {
      const module = unquote(value).replace(/^.*\//, "").replace(/\.so$/, "");
      cfg.modules.add(module);
      if (!HARMLESS_MODULES.has(module)) {
        const note = MODULE_NOTES[module] ?? "no edgesbc equivalent";
        state.untranslated.push(`${where}: ${text} (${note})`);
      }
    } else if (name === "listen") {
      rawListens.push({ value, text, line: token.line });
    } else if (name === "port") {
      defaultPort = /^[0-9]+$/.test(value) ? Number(value) : undefined;
    } else if (name === "disable_tcp") {
      tcpDisabled = /^(yes|on|true|1)$/i.test(value);
      state.ignored.push(text);
    } else if (name === "tcp_connection_lifetime" && /^[0-9]+$/.test(value)) {
      tcpLifetime = { value: Number(value), text };
    } else if (name === "alias") {
      state.ignored.push(`${text} (edgesbc routes by interface, not by domain)`);
    } else if (name === "include_file" || name === "import_file") {
      state.untranslated.push(`${where}: ${text} (included files are not read)`);
    } else if (TUNING_PARAMS.has(name)) {
      state.ignored.push(text);
    } else {
      state.untranslated.push(`${where}: ${text}`);
    }
  }
  for (const raw of rawListens) {
    const listen = parseListen(raw.value, raw.text, defaultPort, state, `line ${raw.line}`);
    if (listen === undefined) continue;
    if (listen.proto === "tcp" && tcpDisabled) {
      state.notes.push(`${raw.text}: left out because disable_tcp = yes`);
      continue;
    }
    cfg.listens.push(listen);
  }
  return { ...cfg, defaultPort, tcpDisabled, tcpLifetime };
}

function readDirectives(directives: readonly Token[], state: ImportState): Map<string, string> {
  const defines = new Map<string, string>();
  let conditional = false;
  for (const directive of directives) {
    const [keyword = "", name, ...rest] = directive.text.slice(2).trim().split(/\s+/);
    const word = keyword.toLowerCase();
    if (["kamailio", "ser", "openser", "all", "maxcompat"].includes(word)) continue;
    if (word === "define" || word === "trydef" || word === "redefine") {
      if (name !== undefined) defines.set(name, unquote(rest.join(" ")));
    } else if (["ifdef", "ifndef", "ifexp", "else", "endif"].includes(word)) {
      conditional = true;
    } else {
      state.untranslated.push(`line ${directive.line}: ${directive.text}`);
    }
  }
  if (conditional) {
    state.notes.push(
      "#!ifdef/#!ifndef blocks were not evaluated: every branch was read; check the result",
    );
  }
  return defines;
}

/** `[proto:]host[:port] [advertise host[:port]] [name "x"]`; undefined when not usable. */
function parseListen(
  value: string,
  text: string,
  defaultPort: number | undefined,
  state: ImportState,
  where: string,
): Listen | undefined {
  const words = splitShellWords(value).words;
  const address = words[0] ?? "";
  const match = /^(?:([a-z]+):)?(\[[^\]]+\]|[^:\s]+)(?::([0-9]+))?$/i.exec(address);
  const proto = match?.[1]?.toLowerCase();
  const host = match?.[2]?.replace(/^\[|\]$/g, "") ?? "";
  if (match === null || !isIpAddress(host)) {
    state.untranslated.push(
      `${where}: ${text} (edgesbc needs an IP address per socket, not "${address}")`,
    );
    return undefined;
  }
  if (proto !== undefined && proto !== "udp" && proto !== "tcp") {
    state.untranslated.push(`${where}: ${text} (${proto} is not supported: udp and tcp only)`);
    return undefined;
  }
  let advertise: string | undefined;
  let advertisePort: number | undefined;
  for (let k = 1; k < words.length; k++) {
    const option = words[k]!.toLowerCase();
    const arg = words[++k] ?? "";
    if (option === "advertise") {
      const adv = /^(\[[^\]]+\]|[^:]+)(?::([0-9]+))?$/.exec(arg);
      advertise = adv?.[1]?.replace(/^\[|\]$/g, "");
      advertisePort = adv?.[2] === undefined ? undefined : Number(adv[2]);
    } else if (option !== "name") {
      state.notes.push(`${where}: ${text}: "${option}" ignored`);
    }
  }
  const port = match[3] === undefined ? defaultPort : Number(match[3]);
  return { proto: proto as SipProto | undefined, host, port, advertise, advertisePort, text };
}

// ---------------------------------------------------------------------------------------------
// Route blocks: a small statement tree, enough to know what each statement does.

interface Arg {
  /** A string's content, or a word as written. */
  readonly value: string;
  /** A plain string or word; false for expressions and pseudo-variables. */
  readonly literal: boolean;
}

/** Every statement keeps its text as written (whitespace collapsed) and its line. */
interface Written {
  readonly text: string;
  readonly line: number;
}

type Stmt =
  | Written & { readonly kind: "call"; readonly name: string; readonly args: Arg[] }
  | Written & { readonly kind: "assign"; readonly target: string; readonly value: Arg }
  | Written & {
    readonly kind: "if";
    readonly cond: Token[];
    readonly then: Stmt[];
    readonly else: Stmt[];
  }
  | Written & { readonly kind: "loop"; readonly body: Stmt[] }
  | Written & { readonly kind: "keyword"; readonly name: string }
  | Written & { readonly kind: "other" };

function parseBlock(tokens: Token[], open: number, code: string): { body: Stmt[]; next: number } {
  const body: Stmt[] = [];
  let i = open + 1;
  while (i < tokens.length && tokens[i]!.text !== "}") {
    const parsed = parseStatement(tokens, i, code);
    body.push(...parsed.stmts);
    i = parsed.next;
  }
  return { body, next: i + 1 };
}

function parseStatement(
  tokens: Token[],
  i: number,
  code: string,
): { stmts: Stmt[]; next: number } {
  const token = tokens[i]!;
  const line = token.line;
  const textTo = (last: number) => collapse(code.slice(token.start, tokens[last]?.end));
  if (token.text === ";") return { stmts: [], next: i + 1 };
  if (token.text === "{") {
    const block = parseBlock(tokens, i, code);
    return { stmts: block.body, next: block.next };
  }
  if (token.text === "case" || token.text === "default" || token.text === "default:") {
    // switch labels: skip to the ":" that ends them.
    let j = i;
    while (j < tokens.length && !tokens[j]!.text.endsWith(":")) j++;
    return { stmts: [], next: j + 1 };
  }
  if (
    (token.text === "if" || token.text === "while" || token.text === "switch") &&
    tokens[i + 1]?.text === "("
  ) {
    const close = matching(tokens, i + 1);
    const cond = tokens.slice(i + 2, close);
    const text = textTo(close);
    const then = parseStatement(tokens, close + 1, code);
    if (token.text !== "if") {
      return { stmts: [{ kind: "loop", body: then.stmts, text, line }], next: then.next };
    }
    let next = then.next;
    let otherwise: Stmt[] = [];
    if (tokens[next]?.text === "else") {
      const parsed = parseStatement(tokens, next + 1, code);
      otherwise = parsed.stmts;
      next = parsed.next;
    }
    return { stmts: [{ kind: "if", cond, then: then.stmts, else: otherwise, text, line }], next };
  }
  // Simple statements end at ";" or at the "}" closing their block.
  let end = i;
  while (end < tokens.length && tokens[end]!.text !== ";" && tokens[end]!.text !== "}") {
    end = tokens[end]!.text === "(" ? matching(tokens, end) + 1 : end + 1;
  }
  const last = end - 1;
  const next = tokens[end]?.text === ";" ? end + 1 : end;
  const text = textTo(last);
  if (["exit", "drop", "return", "break"].includes(token.text)) {
    return { stmts: [{ kind: "keyword", name: token.text, text, line }], next };
  }
  if (token.kind === "word" && tokens[i + 1]?.text === "(" && matching(tokens, i + 1) === last) {
    const args = splitArgs(tokens.slice(i + 2, last));
    return { stmts: [{ kind: "call", name: token.text, args, text, line }], next };
  }
  if (token.text.startsWith("$") && tokens[i + 1]?.text === "=") {
    const valueTokens = tokens.slice(i + 2, end);
    const value = toArg(valueTokens);
    return { stmts: [{ kind: "assign", target: token.text, value, text, line }], next };
  }
  return { stmts: [{ kind: "other", text, line }], next };
}

/** Index of the ")" or "]" closing the bracket at `open`. */
function matching(tokens: readonly Token[], open: number): number {
  const pairs: Record<string, string> = { "(": ")", "[": "]", "{": "}" };
  const close = pairs[tokens[open]?.text ?? ""];
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    if (tokens[i]!.text === tokens[open]!.text) depth++;
    else if (tokens[i]!.text === close && --depth === 0) return i;
  }
  return tokens.length - 1;
}

function splitArgs(tokens: readonly Token[]): Arg[] {
  const args: Token[][] = [[]];
  let depth = 0;
  for (const token of tokens) {
    if (token.text === "(") depth++;
    if (token.text === ")") depth--;
    if (token.text === "," && depth === 0) args.push([]);
    else args[args.length - 1]!.push(token);
  }
  return args.filter((arg) => arg.length > 0).map(toArg);
}

function toArg(tokens: readonly Token[]): Arg {
  // A literal, or literals joined with "+" ("sip:" + PBX_IP + ":5060" after #!define).
  const parts = tokens.filter((_, k) => k % 2 === 0);
  const literal = tokens.length % 2 === 1 &&
    tokens.every((t, k) => k % 2 === 1 ? t.text === "+" : !t.value.includes("$")) &&
    (parts.length === 1 || parts.every((t) => t.kind === "string"));
  if (literal) return { value: parts.map((t) => t.value).join(""), literal: true };
  return { value: tokens.map((t) => t.text).join(" "), literal: false };
}

// ---------------------------------------------------------------------------------------------
// Walking the routes: what the old config did, in terms edgesbc has.

interface PbxCandidate {
  readonly host: string;
  readonly port: number | undefined;
  readonly proto: SipProto | undefined;
  readonly text: string;
  readonly route: string;
  readonly line: number;
}

interface RtpCall {
  readonly flags: string;
  readonly text: string;
  readonly route: string;
  readonly line: number;
  /** Conditions it runs under that do not say which side a message came from. */
  readonly conditions: readonly string[];
}

interface Routes {
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

function walkRoutes(cfg: Cfg, state: ImportState): Routes {
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

// ---------------------------------------------------------------------------------------------
// Deciding the two sides and writing the TOML.

interface Side {
  readonly ip: string;
  readonly listens: Listen[];
}

function buildToml(
  cfg: Cfg,
  routes: Routes,
  rtp: ReturnType<typeof parseRtpproxyArgs> | undefined,
  state: ImportState,
): string {
  const rtpListen = rtp?.listen ?? [];
  const sides = groupSides(cfg, rtpListen, state);
  const pbx = pickPbx(routes, state);
  const decision = decideInternal(sides, pbx?.host, rtpListen, state);
  const internal = sides[decision.internal]!;
  const external = sides[1 - decision.internal]!;
  const roles = new Map<Side, "external" | "internal">([
    [external, "external"],
    [internal, "internal"],
  ]);

  // rtpproxy -l order is the i/e order (rtpproxy: 'i' is bindaddr[0], 'e' is bindaddr[1]).
  const media = new Map<Side, { address: string; index: number | undefined }>();
  rtpListen.forEach((address, index) => {
    const side = sides.find((s) => s.ip === address) ??
      [...sides].sort((a, b) => prefixBits(b.ip, address) - prefixBits(a.ip, address))[0]!;
    if (side.ip !== address) {
      state.notes.push(
        `rtpproxy -l address ${address} is not a SIP listen address: given to the ` +
          `${roles.get(side)} side (${side.ip}), the closest one`,
      );
    }
    if (!media.has(side)) media.set(side, { address, index });
  });
  if (rtpListen.length === 1) {
    state.notes.push(
      "rtpproxy -l has one address (not bridge mode): edgesbc always bridges, so the other " +
        "side's media address is its SIP address",
    );
  }

  const lines: string[] = [
    "# edgesbc configuration imported from Kamailio" +
    (rtp === undefined ? "" : " and rtpproxy") + " by `edgesbc import`.",
    "# Check it with `edgesbc check -c FILE`; read every note below first.",
  ];
  // Filled in below, once every note is known.
  const headerAt = lines.length;

  const ieNote = rtpListen.length === 2
    ? `# rtpproxy -l ${rtpListen.join("/")}: ` +
      rtpListen.map((address, k) => {
        const side = [...media].find(([, m]) => m.index === k)?.[0];
        return `${k === 0 ? "i" : "e"} = ${address} (${side ? roles.get(side) : "unused"})`;
      }).join(", ")
    : undefined;

  const flags = sideFlags(routes.rtp, state);
  const body: string[] = [];
  for (const side of [external, internal]) {
    const role = roles.get(side)!;
    body.push("", `[interfaces.${role}]`, `role = "${role}"`);
    if (side === internal) body.push(...comment(decision.reason));
    const sockets = [...side.listens].sort((a, b) =>
      (a.proto === "tcp" ? 1 : 0) - (b.proto === "tcp" ? 1 : 0)
    );
    for (const listen of sockets) body.push(`# from: ${listen.text}`);
    body.push(`sip = [${sockets.map((l) => quote(formatListen(l))).join(", ")}]`);
    const m = media.get(side);
    if (m !== undefined && m.index !== undefined) {
      const position = m.index === 0 ? 'first address: "i"' : 'second address: "e"';
      body.push(`# from: rtpproxy -l ${rtpListen.join("/")} (${position})`);
    } else {
      body.push("# no rtpproxy -l address for this side: its SIP address");
    }
    body.push(`media = ${quote(m?.address ?? side.ip)}`);
    const advertise = pickAdvertise(side, m?.index, rtp?.advertise ?? [], state);
    body.push(...advertise.comments.flatMap((c) => comment(c)));
    if (advertise.value !== undefined) body.push(`advertise = ${quote(advertise.value)}`);
    if (flags.value !== "") {
      body.push(...flags.sources.map((source) => `# from: ${source}`));
      body.push("# (i/e dropped: edgesbc derives the direction)", `flags = ${quote(flags.value)}`);
    }
  }

  body.push("", "[media]", ...mediaLines(rtp, state));

  body.push("", "[pbx]");
  if (pbx === undefined) {
    state.notes.push(
      'no PBX address found (t_relay("host", "port"), $du or $ru with a literal address): ' +
        "set pbx.address by hand",
    );
    // "_" is not allowed in a host name, so `edgesbc check` stops here until it is set.
    body.push("# no PBX address found in the routes: set it by hand", 'address = "SET_ME"');
  } else {
    const proto = pbxProto(pbx, internal, state);
    body.push(`# from: ${pbx.text} (${pbx.route}, line ${pbx.line})`);
    body.push(...proto.comments.flatMap((c) => comment(c)));
    const host = pbx.host.includes(":") ? `[${pbx.host}]` : pbx.host;
    body.push(`address = ${quote(`${proto.value}:${host}:${pbx.port ?? 5060}`)}`);
  }

  if (cfg.tcpLifetime !== undefined) {
    body.push("", "[sip]", `# from: ${cfg.tcpLifetime.text}`);
    body.push(`tcp_idle_timeout = ${Math.max(1, Math.min(86400, cfg.tcpLifetime.value))}`);
  }
  body.push("", "[admin]", 'listen = "127.0.0.1:8089"');

  const header: string[] = [];
  if (state.untranslated.length > 0) {
    header.push("#");
    for (const entry of state.untranslated) {
      header.push(...comment(`not translated: ${entry}`, "  "));
    }
  }
  if (state.notes.length > 0) {
    header.push("#");
    for (const entry of state.notes) header.push(...comment(`note: ${entry}`, "  "));
  }
  if (state.ignored.length > 0) {
    header.push("#", "# ignored (no equivalent needed):");
    for (const entry of state.ignored) header.push(`#   ${entry}`);
  }
  if (ieNote !== undefined) {
    header.push(
      "#",
      ieNote,
      "# edgesbc derives the direction from the receiving and sending interface, so the i/e",
      "# letters of rtpproxy_manage are not written below.",
    );
  }
  lines.splice(headerAt, 0, ...header);
  return [...lines, ...body].join("\n") + "\n";
}

/** The two interfaces, by IP address, in the order they are first listened on. */
function groupSides(cfg: Cfg, rtpListen: readonly string[], state: ImportState): Side[] {
  let listens = cfg.listens;
  if (listens.length === 0 && rtpListen.length === 2) {
    // Kamailio binds every address without listen; the rtpproxy halves are the two sides.
    const port = cfg.defaultPort ?? 5060;
    const protos: SipProto[] = cfg.tcpDisabled ? ["udp"] : ["udp", "tcp"];
    listens = rtpListen.flatMap((host) =>
      protos.map((proto) => ({
        proto,
        host,
        port,
        advertise: undefined,
        advertisePort: undefined,
        text: `(no listen: rtpproxy -l ${host}, ${proto} port ${port})`,
      }))
    );
    state.notes.push("no listen lines: SIP sockets made from the rtpproxy -l addresses");
  }
  const byIp = new Map<string, Listen[]>();
  for (const listen of listens) {
    const list = byIp.get(listen.host) ?? [];
    list.push(listen);
    byIp.set(listen.host, list);
  }
  let ips = [...byIp.keys()];
  if (ips.length > 2) {
    // Prefer the addresses rtpproxy bridges between; the rest have no place in edgesbc.
    const preferred = ips.filter((ip) => rtpListen.includes(ip));
    const chosen = preferred.length === 2 ? preferred : ips.slice(0, 2);
    for (const ip of ips.filter((candidate) => !chosen.includes(candidate))) {
      for (const listen of byIp.get(ip)!) {
        state.untranslated.push(
          `${listen.text} (edgesbc has two interfaces: ${chosen.join(", ")})`,
        );
      }
    }
    ips = chosen;
  }
  if (ips.length < 2) {
    state.notes.push(
      `listen addresses give ${ips.length} interface address(es); edgesbc needs two (one per ` +
        "side): add the missing side's sip and media by hand",
    );
    while (ips.length < 2) ips.push(ips.length === 0 ? "192.0.2.1" : "192.0.2.2");
  }
  return ips.map((ip) => ({ ip, listens: byIp.get(ip) ?? [] }));
}

function pickPbx(routes: Routes, state: ImportState): PbxCandidate | undefined {
  const [first, ...others] = routes.pbx;
  const distinct = others.filter((c) => c.host !== first?.host || c.port !== first?.port);
  if (distinct.length > 0) {
    state.notes.push(
      `several relay destinations; the PBX is the first one, ${first!.text}; the others ` +
        `(${distinct.map((c) => `${c.text}, line ${c.line}`).join("; ")}) need a routing script`,
    );
  }
  if (routes.dispatcher) {
    state.notes.push(
      "the dispatcher module picks destinations from its list, which is not read: put the PBX " +
        "in pbx.address" + (first === undefined ? "" : ` (the import used ${first.text})`),
    );
  }
  return first;
}

/** Index (0 or 1) of the internal side, and a comment saying why. */
function decideInternal(
  sides: readonly Side[],
  pbxHost: string | undefined,
  rtpListen: readonly string[],
  state: ImportState,
): { internal: number; reason: string } {
  const [a, b] = sides as [Side, Side];
  if (pbxHost !== undefined && isIpAddress(pbxHost)) {
    const bitsA = prefixBits(a.ip, pbxHost);
    const bitsB = prefixBits(b.ip, pbxHost);
    if (bitsA !== bitsB) {
      const [inside, outside, bitsIn, bitsOut] = bitsA > bitsB
        ? [a, b, bitsA, bitsB]
        : [b, a, bitsB, bitsA];
      return {
        internal: inside === a ? 0 : 1,
        reason: `internal: ${inside.ip} shares ${bitsIn} leading bits with the PBX ${pbxHost} ` +
          `(${outside.ip}: ${bitsOut})`,
      };
    }
  }
  // No PBX address to compare with: a private address faces the PBX, a public one the carriers.
  const privateA = isPrivate(a.ip);
  if (privateA !== isPrivate(b.ip)) {
    const internal = privateA ? 0 : 1;
    const reason = `internal: ${sides[internal]!.ip} is a private address and the other is not ` +
      "(the PBX address did not decide it)";
    state.notes.push(reason);
    return { internal, reason };
  }
  // rtpproxy's own source calls its first -l address the external one.
  const second = rtpListen[1];
  const internal = second !== undefined && a.ip === second ? 0 : 1;
  const reason = `internal: ${sides[internal]!.ip} guessed (${
    second !== undefined ? "second rtpproxy -l address" : "second listen address"
  }); the PBX address did not decide it: check the roles`;
  state.notes.push(reason);
  return { internal, reason };
}

function pbxProto(
  pbx: PbxCandidate,
  internal: Side,
  state: ImportState,
): { value: SipProto; comments: string[] } {
  const has = (proto: SipProto) => internal.listens.some((l) => (l.proto ?? "udp") === proto);
  const available: SipProto = has("udp") ? "udp" : "tcp";
  if (pbx.proto !== undefined) {
    if (has(pbx.proto)) return { value: pbx.proto, comments: [] };
    const note = `the PBX is reached over ${pbx.proto}, but the internal side does not listen ` +
      `on ${pbx.proto}: edgesbc falls back to ${available}; add a ${pbx.proto} socket to ` +
      "interfaces.internal.sip if the PBX needs it";
    state.notes.push(note);
    return { value: pbx.proto, comments: [note] };
  }
  // Kamailio relays with the transport the request came in on; edgesbc sends from the internal
  // side, which uses what it listens on (udp when it has it).
  const listens = has("udp") && has("tcp") ? "udp and tcp" : `${available} only`;
  const other = available === "udp" ? "tcp" : "udp";
  const note = `${pbx.text} names no transport: Kamailio used the one each request came in ` +
    `on; edgesbc sends from the internal side, which listens on ${listens}, so ${available}` +
    (has(other) ? "" : ` (if the PBX takes only ${other}, add a ${other} socket to ` +
      `interfaces.internal.sip and write ${other} here)`);
  state.notes.push(note);
  return { value: available, comments: [note] };
}

function pickAdvertise(
  side: Side,
  mediaIndex: number | undefined,
  rtpAdvertise: readonly string[],
  state: ImportState,
): { value: string | undefined; comments: string[] } {
  const comments: string[] = [];
  const fromListen = side.listens.find((l) => l.advertise !== undefined);
  const fromRtp = mediaIndex === undefined ? undefined : rtpAdvertise[mediaIndex];
  for (const listen of side.listens) {
    if (listen.advertisePort !== undefined && listen.advertisePort !== listen.port) {
      state.notes.push(`${listen.text}: the advertised port is not translated (same port kept)`);
    }
  }
  if (fromListen && fromRtp && fromListen.advertise !== fromRtp) {
    state.notes.push(
      `${side.ip}: listen advertises ${fromListen.advertise} but rtpproxy -A ${fromRtp}; ` +
        "edgesbc has one advertise per side: the listen one is used",
    );
  }
  const value = fromListen?.advertise ?? fromRtp;
  const source = fromListen !== undefined
    ? fromListen.text
    : `rtpproxy -A ${rtpAdvertise.join("/")} (${mediaIndex === 0 ? "first" : "second"} address)`;
  if (value === undefined) return { value, comments };
  if (value === side.ip) {
    comments.push(`${source} gives ${value}, this side's own address: no advertise needed`);
    return { value: undefined, comments };
  }
  if (!isIpAddress(value)) {
    state.notes.push(`${source}: advertise "${value}" is not an IP address: left out`);
    return { value: undefined, comments: [`${source}: "${value}" is not an IP address`] };
  }
  comments.push(`from: ${source}`);
  return { value, comments };
}

/** Modifier letters for both sides, and the calls they came from. */
function sideFlags(calls: readonly RtpCall[], state: ImportState): {
  value: string;
  sources: string[];
} {
  const supported = INTERFACE_FLAGS.map((flag) => flag.letter);
  let value = "";
  const sources: string[] = [];
  for (const call of calls) {
    sources.push(`${call.text} (${call.route}, line ${call.line})`);
    // Direction letters are rtpproxy's: edgesbc derives them, so they go.
    const letters = call.flags.replace(/z[0-9]*/gi, (z) => {
      state.notes.push(`${call.text}: "${z}" (repacketization) is not supported: dropped`);
      return "";
    });
    for (const letter of letters.toLowerCase()) {
      if (letter === "i" || letter === "e") continue;
      if (supported.includes(letter)) {
        if (!value.includes(letter)) value += letter;
        continue;
      }
      const refused = REFUSED_FLAGS.find((entry) => entry.letters.includes(letter));
      state.notes.push(
        `${call.text}: flag "${letter}" dropped: ${refused?.reason ?? "unknown rtpproxy flag"}`,
      );
    }
    if (call.conditions.length > 0) {
      // The condition cannot be mapped to a receiving side: both sides get the flags.
      state.notes.push(
        `${call.text} (${call.route}, line ${call.line}) runs inside ` +
          `${call.conditions.join(", inside ")}, which says nothing edgesbc can map to a side: ` +
          "its flags were given to both sides",
      );
    }
  }
  if (value.includes("a") && value.includes("w")) {
    state.notes.push(`flags "a" and "w" both used: "w" dropped (symmetric is the default)`);
    value = value.replace("w", "");
  }
  return { value, sources };
}

function mediaLines(
  rtp: ReturnType<typeof parseRtpproxyArgs> | undefined,
  state: ImportState,
): string[] {
  const lines: string[] = [];
  let min = rtp?.portMin ?? RTPPROXY_DEFAULTS.portMin;
  let max = rtp?.portMax ?? RTPPROXY_DEFAULTS.portMax;
  const given = [
    rtp?.portMin === undefined ? "" : `-m ${rtp.portMin}`,
    rtp?.portMax === undefined ? "" : `-M ${rtp.portMax}`,
  ].filter((s) => s !== "").join(" ");
  lines.push(
    given === ""
      ? `# rtpproxy default port range ${min}-${max} (no -m/-M)`
      : `# from: rtpproxy ${given}` +
        (given.includes("-m") && given.includes("-M")
          ? ""
          : " (the other end is rtpproxy's default)"),
  );
  // rtpproxy rounds an odd minimum up, as edgesbc needs an even RTP port.
  if (min % 2 === 1) min++;
  // edgesbc keeps RTP off the privileged ports (media.ports min is 1024).
  if (min < 1024 || max > 65535) {
    const [from, to] = [Math.max(min, 1024), Math.min(max, 65535)];
    state.notes.push(`rtpproxy port range ${min}-${max} narrowed to ${from}-${to} for edgesbc`);
    [min, max] = [from, to];
  }
  if (max < min + 1) {
    state.notes.push(`rtpproxy port range ${min}-${max} holds no RTP/RTCP pair: 10000-20000 used`);
    [min, max] = [10000, 20000];
  }
  lines.push(`ports = [${min}, ${max}]`);
  const ttl = rtp?.ttl ?? RTPPROXY_DEFAULTS.ttl;
  lines.push(
    rtp?.ttl === undefined
      ? `# rtpproxy default session timeout (no -T)`
      : `# from: rtpproxy -T ${ttl}`,
  );
  lines.push(`timeout = ${Math.max(1, Math.min(86400, ttl))}`);
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

function formatListen(listen: Listen): string {
  const host = listen.host.includes(":") ? `[${listen.host}]` : listen.host;
  return `${listen.proto ?? "udp"}:${host}:${listen.port ?? 5060}`;
}

/** Leading bits two addresses share; 0 across address families. */
function prefixBits(a: string, b: string): number {
  const bitsA = ipBits(a);
  const bitsB = ipBits(b);
  if (bitsA === undefined || bitsB === undefined || bitsA.length !== bitsB.length) return 0;
  let n = 0;
  while (n < bitsA.length && bitsA[n] === bitsB[n]) n++;
  return n;
}

function ipBits(ip: string): string | undefined {
  if (!isIpAddress(ip)) return undefined;
  const byte = (n: number, width: number) => n.toString(2).padStart(width, "0");
  if (!ip.includes(":")) return ip.split(".").map((part) => byte(Number(part), 8)).join("");
  const [head = "", tail] = ip.split("::");
  const groups = (text: string | undefined) =>
    text === undefined || text === ""
      ? []
      : text.split(":").flatMap((group) =>
        group.includes(".")
          ? (ipBits(group)!.match(/.{16}/g) ?? []).map((bits) => parseInt(bits, 2).toString(16))
          : [group]
      );
  const left = groups(head);
  const right = groups(tail);
  const middle = Array(Math.max(0, 8 - left.length - right.length)).fill("0");
  return [...left, ...(tail === undefined ? [] : middle), ...right]
    .map((group) => byte(parseInt(group, 16), 16)).join("");
}

// RFC 1918, RFC 6598 shared, loopback, link-local and RFC 4193 unique local addresses.
const PRIVATE_V4 =
  /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.)/;
function isPrivate(ip: string): boolean {
  return PRIVATE_V4.test(ip) || /^(127\.|169\.254\.)/.test(ip) || /^(f[cd]|fe80:|::1$)/i.test(ip);
}

function unquote(text: string): string {
  const trimmed = text.trim();
  return /^(".*"|'.*')$/.test(trimmed) ? trimmed.slice(1, -1) : trimmed;
}

function collapse(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

function quote(text: string): string {
  return JSON.stringify(text);
}

/** A TOML comment wrapped to the line width; `indent` marks continuation lines. */
function comment(text: string, indent = ""): string[] {
  return wrap(text).map((line, k) => `#${k === 0 ? "" : indent} ${line}`);
}

/** Split text into lines of at most ~96 characters. */
function wrap(text: string): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + word.length + 1 > 94) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") lines.push(line);
  return lines;
}
