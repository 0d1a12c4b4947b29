/**
 * Runs the SBC: binds the transports, wires the proxy core, the media relay and the admin API,
 * and handles signals. The only place that owns process-wide resources.
 */
import { getLogger } from "@logtape/logtape";
import { type Config, SIDE, type Side } from "../config/config.ts";
import { readTlsFiles, type TlsMaterial } from "../config/tls_files.ts";
import { MediaRelay } from "../rtp/relay.ts";
import { AdminServer, type AdminSource } from "./admin/admin_server.ts";
import { renderMetrics } from "./admin/metrics.ts";
import { readAdminToken } from "./admin/admin_token.ts";
import { buildInfo } from "./admin/build_info.ts";
import { TimerWheel } from "./transaction/clock.ts";
import { ProxyCore } from "./proxy/proxy_core.ts";
import { sideNetworks } from "./proxy/side_networks.ts";
import { inNetworks } from "../config/cidr.ts";
import { fittingPorts, raiseFileLimit } from "../rtp/packet/file_limit.ts";
import { type LogSettings, setupLogging } from "./logging.ts";
import { bridgeHooks, bridgePipeline } from "./proxy/pipeline.ts";
import { loadScript } from "./script/script.ts";
import { Transport } from "./transport/transport.ts";
import { refusedChanges } from "./config_reload.ts";
import { readConfigFile } from "../config/load.ts";
import type { RelayLiveOptions } from "../rtp/relay_types.ts";

const log = getLogger(["edgesbc"]);

/** How long SIGTERM waits for calls in progress before exiting anyway. */
const DRAIN_LIMIT_MS = 30_000;

/** A running SBC: everything it owns, and how to stop it. */
export interface Sbc {
  readonly core: ProxyCore;
  readonly relay: MediaRelay;
  reload(): Promise<{ ok: boolean; message: string }>;
  /** Refuses new calls, waits (bounded) for calls in progress to end, then frees everything. */
  stop(drainMs?: number): Promise<void>;
}

/** Loads the configured routing script into the core; the old one stays on failure. */
async function applyScript(
  core: ProxyCore,
  path: string,
): Promise<{ ok: boolean; message: string }> {
  const loaded = await loadScript(path);
  if (!loaded.ok) return { ok: false, message: loaded.error };
  core.setRoute(loaded.script.route, loaded.script.hooks);
  log.info("Routing script {path} loaded", { path });
  return { ok: true, message: `Routing script "${path}" loaded` };
}

/**
 * The media port range the open-file limit can hold (raised to its hard limit first), keeping
 * descriptors for SIP and TCP: running out of them would cost listeners, not just calls.
 */
function mediaPorts(config: Config): readonly [number, number] {
  const limit = raiseFileLimit();
  if (limit === undefined) return config.media.ports;
  const reserve = config.sip.maxTcpConnections + 256;
  const ports = fittingPorts(config.media.ports, { limit: limit.soft, reserve, addresses: 2 });
  if (ports !== config.media.ports) {
    const [min, max] = config.media.ports;
    log.warn(
      "media.ports {min}-{max} needs {needed} descriptors beyond {reserve} for SIP, and the " +
        "open-file limit is {limit}: relaying on {min}-{cut} (raise LimitNOFILE to use it all)",
      { min, max, needed: 2 * (max - min + 1), reserve, limit: limit.soft, cut: ports[1] },
    );
  }
  return ports;
}

/** Each side's TLS certificates, read and checked; throws naming the file that is wrong. */
async function readTls(config: Config): Promise<Partial<Record<Side, TlsMaterial>>> {
  const material: Partial<Record<Side, TlsMaterial>> = {};
  for (const side of [SIDE.external, SIDE.internal]) {
    const tls = config[side].tls;
    if (tls === undefined) continue;
    const read = await readTlsFiles(tls);
    if (!read.ok) throw new Error(`interfaces.${config[side].name}.tls.${read.key}: ${read.error}`);
    material[side] = read.value;
    log.info("TLS certificate {file} for {side}, valid until {until}", {
      file: tls.cert,
      side,
      until: read.value.validTo.toISOString(),
    });
  }
  return material;
}

/**
 * Binds every socket and starts serving; throws when a socket cannot be bound, a TLS file is
 * wrong or the configured routing script does not load (startup only).
 */
export async function startSbc(
  config: Config,
  origin: ConfigOrigin = { file: undefined, sha256: "" },
): Promise<Sbc> {
  const tls = await readTls(config);
  // One time source for the process: SIP timers and the media sweep.
  const wheel = new TimerWheel();
  const networks = sideNetworks(config);
  const ports = mediaPorts(config);
  // What a reload may change later, given the same way at start.
  const live = relayLive(config);
  const relay = new MediaRelay({
    ...live,
    sides: {
      // Outside media never goes to or comes from an inside address (an SDP naming one).
      external: {
        media: config.external.media,
        advertise: config.external.advertise,
        refuse: networks.internal,
        srtp: live.srtp.external,
      },
      internal: {
        media: config.internal.media,
        advertise: config.internal.advertise,
        srtp: live.srtp.internal,
      },
    },
    ports,
    // The relay's sweep runs after startup, so `core` exists by then.
    onTimeout: (callId) => core.mediaTimeout(callId),
    clock: wheel,
  });
  // Built before the core, started after it: every send finds a transport (false until bound).
  const transport = new Transport({
    sockets: [
      ...config.external.sip.map((address) => ({ side: "external" as const, address })),
      ...config.internal.sip.map((address) => ({ side: "internal" as const, address })),
    ],
    tcpIdleTimeout: config.sip.tcpIdleTimeout * 1000,
    tcpMessageTimeout: config.sip.tcpMessageTimeout * 1000,
    maxTcpConnections: config.sip.maxTcpConnections,
    maxTcpPerSource: config.sip.maxTcpPerSource,
    // The PBX's side and a carrier's trusted proxies may hold as many connections as they need.
    exempt: (host): boolean =>
      inNetworks(host, core.networks.internal) || inNetworks(host, core.config.external.trusted),
    tls,
    // A connection is admitted as a message is: access lists and the rate limit (which then
    // bounds handshakes per second from one address too).
    admit: (side, host): boolean => core.admits(side, host),
  });
  const core = new ProxyCore({
    config,
    clock: wheel,
    send: (target, bytes) => transport.send(target, bytes),
    route: bridgePipeline(),
    media: relay,
  });
  core.setRoute(bridgePipeline(), bridgeHooks(core));
  const script = config.routing.script;
  if (script) {
    const first = await applyScript(core, script);
    if (!first.ok) {
      relay.close();
      wheel.close();
      throw new Error(first.message);
    }
  }
  try {
    await transport.start((inbound) => core.receive(inbound));
    core.startHealthChecks();
  } catch (err) {
    relay.close();
    core.close();
    wheel.close();
    void transport.close();
    throw err;
  }
  let loaded: LoadedConfig = { ...origin, loadedAt: Date.now() };
  const reload = async (): Promise<{ ok: boolean; message: string }> => {
    if (origin.file === undefined) return await reloadParts(core, core.config, transport);
    // The whole file again: refused as a whole (FILE:LINE, or the keys that need a restart).
    let next: { config: Config; sha256: string };
    try {
      next = await readConfigFile(origin.file);
    } catch (err) {
      return refuseReload(err instanceof Error ? err.message : `${err}`);
    }
    const refused = refusedChanges(core.config, next.config);
    if (refused.length > 0) {
      return refuseReload(
        `${origin.file}: not reloaded: ${refused.join(", ")} cannot change without a restart`,
      );
    }
    const nextScript = next.config.routing.script;
    if (nextScript !== undefined) {
      // Loaded before anything changes: a script that fails leaves the whole config as it was.
      const checked = await loadScript(nextScript);
      if (!checked.ok) return refuseReload(`Cannot reload routing script: ${checked.error}`);
    }
    core.reconfigure(next.config);
    relay.reconfigure(relayLive(next.config));
    transport.setLimits({
      tcpIdleTimeout: next.config.sip.tcpIdleTimeout * 1000,
      tcpMessageTimeout: next.config.sip.tcpMessageTimeout * 1000,
      maxTcpPerSource: next.config.sip.maxTcpPerSource,
    });
    if (nextScript === undefined) core.setRoute(bridgePipeline(), bridgeHooks(core));
    const parts = await reloadParts(core, next.config, transport);
    loaded = { file: origin.file, sha256: next.sha256, loadedAt: Date.now() };
    const message = `${origin.file} reloaded (sha256 ${next.sha256.slice(0, 12)})` +
      (parts.message === NOTHING_ELSE ? "" : `; ${parts.message}`);
    log.info("{message}", { message });
    return { ok: parts.ok, message };
  };
  const t = transport;
  const source: AdminSource = {
    stats: () => ({
      build: buildInfo(),
      config: {
        file: loaded.file ?? "<default>",
        loaded_at: new Date(loaded.loadedAt).toISOString(),
        sha256: loaded.sha256,
      },
      pbx: core.pool.states.map((s) => ({
        target: s.name,
        up: s.up,
        priority: s.target.priority,
        weight: s.target.weight,
        since: new Date(s.since).toISOString(),
      })),
      sip: { ...core.counters, transactions: core.transactions, ...t.stats() },
      media: relay.stats(),
    }),
    calls: () => relay.calls(),
    metrics: () =>
      renderMetrics({
        sip: core.counters,
        serverTransactions: core.transactions.server,
        tcpConnections: t.stats().tcpConnections,
        tcpRefused: t.stats().tcpRefused,
        media: relay.stats(),
        build: buildInfo(),
        pbx: core.pool.states.map((s) => ({ target: s.name, up: s.up })),
        configLoadedAt: Math.floor(loaded.loadedAt / 1000),
      }),
    reload,
  };
  let admin: AdminServer | undefined;
  try {
    const token = config.admin.tokenFile === undefined
      ? undefined
      : await readAdminToken(config.admin.tokenFile);
    const access = { token, metricsOpen: config.admin.metricsOpen || token === undefined };
    admin = config.admin.listen ? new AdminServer(config.admin.listen, source, access) : undefined;
  } catch (err) {
    relay.close();
    core.close();
    wheel.close();
    await t.close();
    throw err;
  }
  log.info("edgesbc {version} listening: external {ext}, internal {int}; PBX {pbx}", {
    version: buildInfo().version,
    ext: config.external.sip.map((s) => `${s.proto}:${s.host}:${s.port}`).join(" "),
    int: config.internal.sip.map((s) => `${s.proto}:${s.host}:${s.port}`).join(" "),
    pbx: `${config.pbx.address.proto}:${config.pbx.address.host}:${config.pbx.address.port}`,
  });
  return {
    core,
    relay,
    reload,
    async stop(drainMs = 0) {
      core.drain();
      const until = performance.now() + drainMs;
      while (performance.now() < until && relay.stats().sessions > 0) {
        await new Promise((r) => setTimeout(r, 200));
      }
      core.close();
      wheel.close();
      relay.close();
      await t.close();
      await admin?.close();
    },
  };
}

/** Where the running config came from: the file and its hash, or the embedded default. */
export interface ConfigOrigin {
  readonly file: string | undefined;
  readonly sha256: string;
}

interface LoadedConfig extends ConfigOrigin {
  /** Wall-clock ms. */
  readonly loadedAt: number;
}

const NOTHING_ELSE = "No routing script is configured";

function refuseReload(message: string): { ok: false; message: string } {
  log.error("Reload refused: {message}", { message });
  return { ok: false, message };
}

/** What of `config` the relay takes live. */
function relayLive(config: Config): RelayLiveOptions {
  return {
    timeout: config.media.timeout,
    holdTimeout: config.media.holdTimeout,
    offerTimeout: config.media.offerTimeout,
    maxStreams: config.media.maxStreams,
    maxOffersPerSource: config.media.maxOffersPerSource,
    maxSessionsPerSource: config.media.maxSessionsPerSource,
    srtp: { external: config.external.srtp, internal: config.internal.srtp },
  };
}

/** The parts a reload re-reads from their own files: the TLS certificates and the script. */
async function reloadParts(
  core: ProxyCore,
  config: Config,
  transport: Transport,
): Promise<{ ok: boolean; message: string }> {
  const results = [];
  if (config.external.tls || config.internal.tls) results.push(await reloadTls(config, transport));
  const script = config.routing.script;
  if (script) {
    const result = await applyScript(core, script);
    // The old script keeps routing; the operator needs to know why the new one did not load.
    if (!result.ok) log.error("Cannot reload routing script: {error}", { error: result.message });
    results.push(result);
  }
  if (results.length === 0) return { ok: true, message: NOTHING_ELSE };
  return {
    ok: results.every((r) => r.ok),
    message: results.map((r) => r.message).join("; "),
  };
}

/**
 * Re-reads every side's certificates; new handshakes use them, connections up keep theirs. A
 * file that fails its checks leaves that side's certificates as they were.
 */
async function reloadTls(
  config: Config,
  transport: Transport,
): Promise<{ ok: boolean; message: string }> {
  try {
    const material = await readTls(config);
    for (const side of [SIDE.external, SIDE.internal]) {
      const m = material[side];
      if (m) transport.setTls(side, m);
    }
    return { ok: true, message: "TLS certificates reloaded" };
  } catch (err) {
    const message = `TLS certificates not reloaded: ${err instanceof Error ? err.message : err}`;
    log.error("{message}", { message });
    return { ok: false, message };
  }
}

/** Runs until SIGTERM/SIGINT; SIGTERM drains calls first (bounded). Resolves with the exit code. */
export async function runSbc(
  config: Config,
  logging: LogSettings,
  origin?: ConfigOrigin,
): Promise<number> {
  await setupLogging(logging);
  let sbc: Sbc;
  try {
    sbc = await startSbc(config, origin);
  } catch (err) {
    // Startup errors name what failed ("Cannot bind udp:…", "Cannot load routing script …").
    log.fatal("{error}", { error: err instanceof Error ? err.message : `${err}` });
    return 1;
  }
  const { promise: stopped, resolve } = Promise.withResolvers<number>();
  const onTerm = () => resolve(DRAIN_LIMIT_MS);
  const onInt = () => resolve(0);
  const onHup = () => {
    void sbc.reload().then((r) => log.info("Reload: {message}", { message: r.message }));
  };
  Deno.addSignalListener("SIGTERM", onTerm);
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGHUP", onHup);
  const drainMs = await stopped;
  log.info("edgesbc stopping (draining for up to {ms} ms)", { ms: drainMs });
  await sbc.stop(drainMs);
  Deno.removeSignalListener("SIGTERM", onTerm);
  Deno.removeSignalListener("SIGINT", onInt);
  Deno.removeSignalListener("SIGHUP", onHup);
  return 0;
}
