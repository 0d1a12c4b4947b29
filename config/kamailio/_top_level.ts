/**
 * The top level of a kamailio.cfg, read for `edgesbc import`: `#!define` values substituted,
 * listen sockets, loaded modules, the global parameters edgesbc has a use for, and the route
 * blocks. Everything else is sorted into not translated or ignored on the way.
 */

import type { SipProto } from "../config.ts";
import type { ImportState } from "./_findings.ts";
import {
  collapse,
  matching,
  parseBlock,
  splitArgs,
  type Stmt,
  stripComments,
  type Token,
  tokenize,
} from "./kamailio_cfg.ts";
import { splitShellWords } from "./rtpproxy_args.ts";
import { isIpAddress } from "../socket_address.ts";

/** A `listen` socket edgesbc can use. */
export interface Listen {
  readonly proto: SipProto | undefined;
  readonly host: string;
  readonly port: number | undefined;
  readonly advertise: string | undefined;
  readonly advertisePort: number | undefined;
  /** The statement as written, for `# from:` comments. */
  readonly text: string;
}

/** A route block and its parsed body. */
export interface Block {
  /** `request_route`, `route[RELAY]`, `onreply_route[MANAGE]`, … */
  readonly name: string;
  readonly kind: string;
  readonly body: Stmt[];
}

/** What the cfg's top level says, in the terms the importer needs. */
export interface Cfg {
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

/** Why a module has no edgesbc equivalent, for its `not translated` entry. */
export const MODULE_NOTES: Readonly<Record<string, string>> = {
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

/** Read a cfg's top level; what has no equivalent goes into `state`. */
export function readCfg(text: string, state: ImportState): Cfg {
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

function unquote(text: string): string {
  const trimmed = text.trim();
  return /^(".*"|'.*')$/.test(trimmed) ? trimmed.slice(1, -1) : trimmed;
}
