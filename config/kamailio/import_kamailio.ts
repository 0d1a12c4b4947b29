/**
 * `edgesbc import`: turn a Kamailio bridge-mode config plus rtpproxy's command line into an
 * equivalent edgesbc TOML config, with a comment saying where each value came from.
 *
 * Pure: text in, text and warnings out. Nothing the importer does not understand is dropped
 * silently; it is listed as `# not translated: …` at the top of the TOML and in `warnings`.
 */

import type { SipProto } from "../config.ts";
import type { ImportState } from "./_findings.ts";
import { mediaLines, sideFlags } from "./_media.ts";
import { type PbxCandidate, type Routes, walkRoutes } from "./_routes.ts";
import {
  decideInternal,
  groupSides,
  type ImportSide,
  pickAdvertise,
  prefixBits,
} from "./_sides.ts";
import { type Cfg, type Listen, readCfg } from "./_top_level.ts";
import { parseRtpproxyArgs } from "./rtpproxy_args.ts";

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
 * import assert from "node:assert/strict";
 * import { importKamailio } from "./import_kamailio.ts";
 * import { loadConfig } from "../load.ts";
 * const cfg = "listen=udp:10.0.1.1:5060\nlisten=udp:10.0.2.1:5060\n" +
 *   'request_route {\n  t_relay("10.0.2.9", "5060");\n}\n';
 * const { toml } = importKamailio(cfg, "-l 10.0.1.1/10.0.2.1");
 * const config = loadConfig(toml, "imported.toml");
 * assert.deepEqual(config.internal.sip, [{ proto: "udp", host: "10.0.2.1", port: 5060 }]);
 * assert.deepEqual(config.pbx.address, { proto: "udp", host: "10.0.2.9", port: 5060 });
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

// ---------------------------------------------------------------------------------------------
// Writing the TOML.

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
  const roles = new Map<ImportSide, "external" | "internal">([
    [external, "external"],
    [internal, "internal"],
  ]);

  // rtpproxy -l order is the i/e order (rtpproxy: 'i' is bindaddr[0], 'e' is bindaddr[1]).
  const media = new Map<ImportSide, { address: string; index: number | undefined }>();
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

function pbxProto(
  pbx: PbxCandidate,
  internal: ImportSide,
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

// ---------------------------------------------------------------------------------------------
// Small helpers.

function formatListen(listen: Listen): string {
  const host = listen.host.includes(":") ? `[${listen.host}]` : listen.host;
  return `${listen.proto ?? "udp"}:${host}:${listen.port ?? 5060}`;
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
