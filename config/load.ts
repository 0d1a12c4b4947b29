/**
 * TOML config loading: parse, check every key against config/schema.ts, fill in defaults, check
 * the rules that span keys, and return the resolved Config.
 *
 * This is the one place in edgesbc that throws on bad input: once, at startup, with `FILE:LINE`.
 */

import { createHash } from "node:crypto";
import { parse, TomlError } from "smol-toml";
import { dirname, isAbsolute, join, resolve } from "node:path";
import {
  type Cidr,
  type Config,
  type InterfaceConfig,
  type PbxConfig,
  type PbxTarget,
  SIDE,
  type Side,
  SIP_PROTO,
  type SocketAddress,
  SRTP_MODE,
  type SrtpMode,
  TLS_VERSION,
  type TlsConfig,
  type TlsVersion,
} from "./config.ts";
import { checkValue, describeFound, expectedValue } from "./_check_value.ts";
import {
  ANY_NAME,
  CONFIG_SCHEMA,
  INTERFACE_NAME_PATTERN,
  type SchemaRow,
  type TomlValue,
} from "./schema.ts";
import { formatHostPort, formatSocketAddress } from "./socket_address.ts";
import { indexTomlLines, lineOf, type TomlPath } from "./_toml_position.ts";
import { readTlsFiles } from "./tls_files.ts";

/** Stable codes for every way a config can be refused; tests and callers match on these. */
export const CONFIG_ERROR_CODE = {
  unreadable: "CONFIG_UNREADABLE",
  syntax: "CONFIG_SYNTAX",
  unknownKey: "CONFIG_UNKNOWN_KEY",
  missingKey: "CONFIG_MISSING_KEY",
  badType: "CONFIG_BAD_TYPE",
  badValue: "CONFIG_BAD_VALUE",
  outOfRange: "CONFIG_OUT_OF_RANGE",
  badAddress: "CONFIG_BAD_ADDRESS",
  badPortRange: "CONFIG_BAD_PORT_RANGE",
  badFlags: "CONFIG_BAD_FLAGS",
  badRoles: "CONFIG_BAD_ROLES",
  duplicateSocket: "CONFIG_DUPLICATE_SOCKET",
  duplicateMedia: "CONFIG_DUPLICATE_MEDIA",
  pbxLoop: "CONFIG_PBX_LOOP",
  badTls: "CONFIG_BAD_TLS",
} as const;
export type ConfigErrorCode = typeof CONFIG_ERROR_CODE[keyof typeof CONFIG_ERROR_CODE];

/** Where an error was found; line 0 means the file as a whole. */
export interface ConfigErrorOptions {
  readonly code: ConfigErrorCode;
  readonly file: string;
  readonly line: number;
}

/** A refused config. `message` is `FILE:LINE: detail`, or `FILE: detail` when line is 0. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly code: ConfigErrorCode;
  readonly file: string;
  readonly line: number;
  /** The message without the `FILE:LINE: ` prefix. */
  readonly detail: string;

  constructor(detail: string, options: ConfigErrorOptions) {
    const where = options.line > 0 ? `${options.file}:${options.line}` : options.file;
    super(`${where}: ${detail}`);
    this.code = options.code;
    this.file = options.file;
    this.line = options.line;
    this.detail = detail;
  }
}

export interface LoadConfigOptions {
  /** Directory a relative `routing.script` is resolved against; absent: kept as written. */
  readonly baseDir?: string;
}

/**
 * Parse and validate a TOML config; throws one ConfigError naming the file, line and key.
 *
 * @param text The TOML document.
 * @param source The file name used in messages and kept as `Config.source`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadConfig } from "./load.ts";
 * import { DEFAULT_CONFIG_TOML } from "./default.ts";
 * const config = loadConfig(DEFAULT_CONFIG_TOML, "<default>");
 * assert.deepEqual(config.external.sip[0], { proto: "udp", host: "127.0.1.1", port: 5060 });
 * ```
 */
export function loadConfig(text: string, source: string, options: LoadConfigOptions = {}): Config {
  let document: Record<string, unknown>;
  try {
    document = parse(text);
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    const reason = error.message.split("\n")[0]!.replace(/^Invalid TOML document: /, "");
    throw new ConfigError(`invalid TOML at column ${error.column}: ${reason}`, {
      code: CONFIG_ERROR_CODE.syntax,
      file: source,
      line: error.line,
    });
  }
  const lines = indexTomlLines(text);
  const fail = (code: ConfigErrorCode, path: TomlPath, message: string): never => {
    const detail = path.length > 0 ? `${formatPath(path)}: ${message}` : message;
    throw new ConfigError(detail, { code, file: source, line: lineOf(lines, path) });
  };

  const values = new Map<string, unknown>();
  checkTable(document, SCHEMA_TREE, [], values, fail);

  // Resolve one key: the user's value, else the row's default, else undefined or a refusal.
  const get = (path: readonly string[]): unknown => {
    const row = rowAt(path);
    const key = path.join(".");
    if (values.has(key)) return values.get(key);
    if (row.default !== undefined) return convertDefault(row);
    if (row.required) {
      return fail(
        CONFIG_ERROR_CODE.missingKey,
        path,
        `required key is missing: expected ${expectedValue(row)}`,
      );
    }
    return undefined;
  };

  const interfaceNames = Object.keys(asTable(document["interfaces"]));
  const interfaces = interfaceNames.map((name): InterfaceConfig => ({
    name,
    role: get(["interfaces", name, "role"]) as Side,
    sip: get(["interfaces", name, "sip"]) as SocketAddress[],
    media: get(["interfaces", name, "media"]) as string,
    advertise: get(["interfaces", name, "advertise"]) as string | undefined,
    flags: get(["interfaces", name, "flags"]) as string,
    trusted: get(["interfaces", name, "trusted"]) as Cidr[],
    allow: get(["interfaces", name, "allow"]) as Cidr[],
    deny: get(["interfaces", name, "deny"]) as Cidr[],
    networks: get(["interfaces", name, "networks"]) as Cidr[],
    topologyHiding: get(["interfaces", name, "topology_hiding"]) as boolean | undefined ??
      get(["interfaces", name, "role"]) === SIDE.external,
    serverHeader: get(["interfaces", name, "server_header"]) as string | undefined,
    natPing: get(["interfaces", name, "nat_ping"]) as number,
    srtp: srtpMode(["interfaces", name, "srtp"], get, fail),
    tls: tlsConfig(name, get, fail, (path) => relativeTo(path, options.baseDir)),
  }));
  const external = pickRole(interfaces, SIDE.external, fail);
  const internal = pickRole(interfaces, SIDE.internal, fail);
  if (internal.topologyHiding) {
    // What hiding rewrites outside is mapped back by the dialogs the PBX side keeps; the
    // reverse (hiding carriers from the PBX) is not built.
    fail(
      CONFIG_ERROR_CODE.badValue,
      ["interfaces", internal.name, "topology_hiding"],
      "topology hiding hides the inside from the external interface; the internal interface " +
        "cannot hide (set it on the external one, or leave it out)",
    );
  }
  const pbx = pbxConfig(get, fail);
  const script = get(["routing", "script"]) as string | undefined;
  const config: Config = {
    source,
    external,
    internal,
    media: {
      ports: get(["media", "ports"]) as [number, number],
      timeout: get(["media", "timeout"]) as number,
      holdTimeout: get(["media", "hold_timeout"]) as number,
      offerTimeout: get(["media", "offer_timeout"]) as number,
      maxStreams: get(["media", "max_streams"]) as number,
      maxOffersPerSource: get(["media", "max_offers_per_source"]) as number,
      maxSessionsPerSource: get(["media", "max_sessions_per_source"]) as number,
    },
    pbx,
    limits: {
      calls: get(["limits", "calls"]) as number,
      callsPerSecond: get(["limits", "calls_per_second"]) as number,
    },
    sip: {
      tcpIdleTimeout: get(["sip", "tcp_idle_timeout"]) as number,
      tcpMessageTimeout: get(["sip", "tcp_message_timeout"]) as number,
      maxTcpConnections: get(["sip", "max_tcp_connections"]) as number,
      maxTcpPerSource: get(["sip", "max_tcp_per_source"]) as number,
      rateLimit: get(["sip", "rate_limit"]) as number,
      banTime: get(["sip", "ban_time"]) as number,
      maxTransactions: get(["sip", "max_transactions"]) as number,
      maxTransactionsPerSource: get(["sip", "max_transactions_per_source"]) as number,
    },
    routing: { script: relativeTo(script, options.baseDir) },
    admin: {
      listen: get(["admin", "listen"]) as { host: string; port: number } | undefined,
      tokenFile: relativeTo(get(["admin", "token_file"]) as string | undefined, options.baseDir),
      metricsOpen: get(["admin", "metrics_open"]) as boolean,
    },
  };
  checkSockets(interfaces, pbx.targets, fail, get(["pbx", "targets"]) !== undefined);
  checkTlsSockets(interfaces, fail);
  checkAdmin(config, fail);
  checkMedia(interfaces, fail);
  return config;
}

/**
 * Read and load a config file; an unreadable file is a ConfigError with line 0.
 *
 * A relative `routing.script` is resolved against the file's directory.
 */
export async function loadConfigFile(path: string): Promise<Config> {
  return (await readConfigFile(path)).config;
}

/** `loadConfigFile`, with the SHA-256 of the text it loaded (what the admin API shows). */
export async function readConfigFile(path: string): Promise<{ config: Config; sha256: string }> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError(`cannot read: ${reason}`, {
      code: CONFIG_ERROR_CODE.unreadable,
      file: path,
      line: 0,
    });
  }
  const config = loadConfig(text, path, { baseDir: dirname(resolve(path)) });
  // Certificates are files of their own: a config that passes must mean they load.
  for (const iface of [config.external, config.internal]) {
    if (iface.tls === undefined) continue;
    const read = await readTlsFiles(iface.tls);
    if (!read.ok) {
      const where = ["interfaces", iface.name, "tls", read.key];
      throw new ConfigError(`${formatPath(where)}: ${read.error}`, {
        code: CONFIG_ERROR_CODE.badTls,
        file: path,
        line: lineOf(indexTomlLines(text), where),
      });
    }
  }
  return { config, sha256: createHash("sha256").update(text).digest("hex") };
}

type Fail = (code: ConfigErrorCode, path: TomlPath, message: string) => never;

// The schema rows as a tree of tables, so unknown keys are found at any depth.
interface SchemaTable {
  readonly tables: Map<string, SchemaTable>;
  readonly keys: Map<string, SchemaRow>;
}

const SCHEMA_TREE: SchemaTable = buildTree(CONFIG_SCHEMA);

function buildTree(rows: readonly SchemaRow[]): SchemaTable {
  const root: SchemaTable = { tables: new Map(), keys: new Map() };
  for (const row of rows) {
    const segments = row.key.split(".");
    let table = root;
    for (const segment of segments.slice(0, -1)) {
      let next = table.tables.get(segment);
      if (next === undefined) {
        next = { tables: new Map(), keys: new Map() };
        table.tables.set(segment, next);
      }
      table = next;
    }
    table.keys.set(segments[segments.length - 1]!, row);
  }
  return root;
}

function rowAt(path: readonly string[]): SchemaRow {
  const key = path.map((segment, i) => i === 1 && path[0] === "interfaces" ? ANY_NAME : segment)
    .join(".");
  const row = CONFIG_SCHEMA.find((candidate) => candidate.key === key);
  if (row === undefined) throw new Error(`No schema row for "${key}"`);
  return row;
}

function checkTable(
  table: Record<string, unknown>,
  schema: SchemaTable,
  path: readonly string[],
  values: Map<string, unknown>,
  fail: Fail,
): void {
  for (const [name, value] of Object.entries(table)) {
    const here = [...path, name];
    const row = schema.keys.get(name) ?? schema.keys.get(ANY_NAME);
    const subtable = schema.tables.get(name) ?? schema.tables.get(ANY_NAME);
    if (row === undefined && subtable === undefined) {
      fail(CONFIG_ERROR_CODE.unknownKey, here, unknownKeyMessage(name, schema));
    }
    if (!schema.tables.has(name) && schema.tables.has(ANY_NAME)) {
      if (!INTERFACE_NAME_PATTERN.test(name)) {
        fail(
          CONFIG_ERROR_CODE.badValue,
          here,
          `"${name}" is not a valid interface name: use letters, digits, "_" and "-"`,
        );
      }
    }
    if (subtable !== undefined) {
      if (!isTable(value)) {
        fail(
          CONFIG_ERROR_CODE.badType,
          here,
          `expected a table such as [${here.join(".")}], found ${describeFound(value)}`,
        );
      }
      checkTable(value as Record<string, unknown>, subtable, here, values, fail);
    } else if (row !== undefined) {
      const checked = checkValue(row, value);
      if (!checked.ok) {
        fail(
          checked.code,
          checked.index === undefined ? here : [...here, checked.index],
          checked.message,
        );
      } else {
        values.set(here.join("."), checked.value);
      }
    }
  }
}

function unknownKeyMessage(name: string, schema: SchemaTable): string {
  const allowed = [...schema.tables.keys(), ...schema.keys.keys()].sort();
  const close = allowed.find((candidate) => editDistance(candidate, name) <= 2);
  const hint = close === undefined ? "" : ` (did you mean "${close}"?)`;
  return `unknown key: allowed keys here are ${listWords(allowed)}${hint}`;
}

/** A relative path resolved against the config file's directory, when there is one. */
function relativeTo(path: string | undefined, baseDir: string | undefined): string | undefined {
  return path === undefined || baseDir === undefined || isAbsolute(path)
    ? path
    : join(baseDir, path);
}

function srtpMode(
  path: readonly string[],
  get: (path: readonly string[]) => unknown,
  fail: Fail,
): SrtpMode {
  const mode = get(path) as string;
  if (!Object.hasOwn(SRTP_MODE, mode)) {
    fail(CONFIG_ERROR_CODE.badValue, path, `"${mode}": use "off", "optional" or "mandatory"`);
  }
  return mode as SrtpMode;
}

/** `[pbx]`: one `address` or `targets`, and how calls fail over among them. */
function pbxConfig(get: (path: readonly string[]) => unknown, fail: Fail): PbxConfig {
  const address = get(["pbx", "address"]) as SocketAddress | undefined;
  const listed = get(["pbx", "targets"]) as PbxTarget[] | undefined;
  if (address !== undefined && listed !== undefined) {
    fail(
      CONFIG_ERROR_CODE.badValue,
      ["pbx", "targets"],
      "give address or targets, not both (address is targets with one entry)",
    );
  }
  const targets = listed ?? (address !== undefined ? [{ address, priority: 1, weight: 1 }] : []);
  if (targets.length === 0) {
    fail(
      CONFIG_ERROR_CODE.missingKey,
      ["pbx"],
      `required key is missing: pbx.address (one PBX) or pbx.targets (a pool)`,
    );
  }
  return {
    address: targets[0]!.address,
    targets,
    failoverOn: get(["pbx", "failover_on"]) as number[],
    replyTimeout: get(["pbx", "reply_timeout"]) as number,
    ringTimeout: get(["pbx", "ring_timeout"]) as number,
    health: {
      interval: get(["pbx", "health", "interval"]) as number,
      failures: get(["pbx", "health", "failures"]) as number,
      successes: get(["pbx", "health", "successes"]) as number,
      failureStatus: statusPattern(["pbx", "health", "failure_status"], get, fail),
    },
  };
}

/** A status-code pattern (Kamailio `t_check_status`), checked to compile and kept as written. */
function statusPattern(
  path: readonly string[],
  get: (path: readonly string[]) => unknown,
  fail: Fail,
): string {
  const pattern = get(path) as string;
  try {
    new RegExp(`^(?:${pattern})$`);
  } catch (error) {
    fail(
      CONFIG_ERROR_CODE.badValue,
      path,
      `"${pattern}" is not a regular expression: ${error instanceof Error ? error.message : error}`,
    );
  }
  return pattern;
}

/** `[interfaces.<name>.tls]`, when the table is there; its keys checked against each other. */
function tlsConfig(
  name: string,
  get: (path: readonly string[]) => unknown,
  fail: Fail,
  file: (path: string | undefined) => string | undefined,
): TlsConfig | undefined {
  const key = (k: string) => ["interfaces", name, "tls", k];
  const cert = file(get(key("cert")) as string | undefined);
  const keyFile = file(get(key("key")) as string | undefined);
  const ca = file(get(key("ca")) as string | undefined);
  const verifyClient = get(key("verify_client")) as boolean;
  const minVersion = get(key("min_version")) as string;
  if (!Object.hasOwn(TLS_VERSION, minVersion)) {
    fail(CONFIG_ERROR_CODE.badValue, key("min_version"), `"${minVersion}": use "1.2" or "1.3"`);
  }
  if (cert === undefined && keyFile === undefined && ca === undefined && !verifyClient) {
    return undefined;
  }
  if (cert === undefined || keyFile === undefined) {
    const missing = cert === undefined ? "cert" : "key";
    return fail(
      CONFIG_ERROR_CODE.missingKey,
      ["interfaces", name, "tls"],
      `${missing} is missing: TLS needs both cert and key (PEM files)`,
    );
  }
  if (verifyClient && ca === undefined) {
    fail(
      CONFIG_ERROR_CODE.missingKey,
      key("verify_client"),
      "verify_client needs ca: the CA certificates client certificates are checked against",
    );
  }
  return { cert, key: keyFile, minVersion: minVersion as TlsVersion, ca, verifyClient };
}

// A tls: socket without certificates could not complete a single handshake.
function checkTlsSockets(interfaces: readonly InterfaceConfig[], fail: Fail): void {
  for (const iface of interfaces) {
    const index = iface.sip.findIndex((s) => s.proto === SIP_PROTO.tls);
    if (index >= 0 && iface.tls === undefined) {
      fail(
        CONFIG_ERROR_CODE.missingKey,
        ["interfaces", iface.name, "sip", index],
        `a tls: socket needs [interfaces.${iface.name}.tls] with cert and key (PEM files)`,
      );
    }
  }
}

// An admin API without a token answers anyone who reaches it: only where no outsider can.
function checkAdmin(config: Config, fail: Fail): void {
  const listen = config.admin.listen;
  if (listen === undefined || config.admin.tokenFile !== undefined) return;
  const host = listen.host.toLowerCase();
  const external = config.external;
  const outside = [...external.sip.map((s) => s.host), external.media, external.advertise ?? ""];
  if (host === "0.0.0.0" || host === "::" || outside.includes(host)) {
    fail(
      CONFIG_ERROR_CODE.badValue,
      ["admin", "listen"],
      `"${formatHostPort(listen)}" is reachable from the external interface, and the admin API ` +
        `has no token: set admin.token_file, or listen on loopback or the internal address`,
    );
  }
}

function pickRole(interfaces: readonly InterfaceConfig[], role: Side, fail: Fail): InterfaceConfig {
  const [first, second] = interfaces.filter((candidate) => candidate.role === role);
  if (second !== undefined) {
    fail(
      CONFIG_ERROR_CODE.badRoles,
      ["interfaces", second.name, "role"],
      `"${role}" is already the role of interfaces.${first!.name}: exactly one interface must be ` +
        `external and one internal`,
    );
  }
  if (first === undefined) {
    fail(
      CONFIG_ERROR_CODE.badRoles,
      ["interfaces"],
      `no interface has role "${role}": exactly one external and one internal interface are ` +
        `required, as in [interfaces.${role}] with role = "${role}"`,
    );
  }
  return first!;
}

// The same proto+host+port bound twice would fail at startup, and sending to the PBX through one
// of our own sockets would loop the request back to us.
function checkSockets(
  interfaces: readonly InterfaceConfig[],
  targets: readonly PbxTarget[],
  fail: Fail,
  fromList: boolean,
): void {
  const seen = new Map<string, string>();
  for (const iface of interfaces) {
    iface.sip.forEach((address, index) => {
      const key = formatSocketAddress(address);
      const owner = `interfaces.${iface.name}.sip[${index}]`;
      const first = seen.get(key);
      if (first !== undefined) {
        fail(
          CONFIG_ERROR_CODE.duplicateSocket,
          ["interfaces", iface.name, "sip", index],
          `"${key}" is already used by ${first}: each SIP socket may be listed once`,
        );
      }
      seen.set(key, owner);
    });
  }
  targets.forEach(({ address }, index) => {
    const own = seen.get(formatSocketAddress(address));
    if (own === undefined) return;
    fail(
      CONFIG_ERROR_CODE.pbxLoop,
      fromList ? ["pbx", "targets", index] : ["pbx", "address"],
      `"${formatSocketAddress(address)}" is our own SIP socket ${own}: requests would loop back ` +
        `to the SBC`,
    );
  });
}

// Each side's RTP sockets live on its own address (rtpproxy bridge mode, -l A/B).
function checkMedia(interfaces: readonly InterfaceConfig[], fail: Fail): void {
  const seen = new Map<string, string>();
  for (const iface of interfaces) {
    const first = seen.get(iface.media);
    if (first !== undefined) {
      fail(
        CONFIG_ERROR_CODE.duplicateMedia,
        ["interfaces", iface.name, "media"],
        `"${iface.media}" is already the media address of interfaces.${first}: the two sides ` +
          `need distinct media addresses`,
      );
    }
    seen.set(iface.media, iface.name);
  }
}

function convertDefault(row: SchemaRow): unknown {
  const checked = checkValue(row, row.default as TomlValue);
  if (!checked.ok) throw new Error(`Default of "${row.key}" is invalid: ${checked.message}`);
  return checked.value;
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Date);
}

function asTable(value: unknown): Record<string, unknown> {
  return isTable(value) ? value : {};
}

/** `interfaces.external.sip[1]`, quoting names that are not TOML bare keys. */
function formatPath(path: TomlPath): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else {
      const name = /^[A-Za-z0-9_-]+$/.test(segment) ? segment : JSON.stringify(segment);
      text += text === "" ? name : `.${name}`;
    }
  }
  return text;
}

function listWords(words: readonly string[]): string {
  return words.length <= 1
    ? words.join("")
    : `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost));
    }
    previous = current;
  }
  return previous[b.length]!;
}
