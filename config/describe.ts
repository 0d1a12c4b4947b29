/**
 * The resolved config printed back as TOML, defaults included, for `main.ts check`.
 *
 * The output loads again to an equal Config (test/config/describe_test.ts checks the round trip).
 */

import type { Cidr, Config, InterfaceConfig } from "./config.ts";
import { formatHostPort, formatSocketAddress } from "./socket_address.ts";

/** Print a resolved config as TOML that loads back to the same Config. */
export function describeConfig(config: Config): string {
  const lines = [
    `# edgesbc configuration resolved from ${config.source}, defaults filled in`,
    "",
    ...describeInterface(config.external),
    "",
    ...describeInterface(config.internal),
    "",
    "[media]",
    `ports = [${config.media.ports[0]}, ${config.media.ports[1]}]`,
    `timeout = ${config.media.timeout}`,
    `hold_timeout = ${config.media.holdTimeout}`,
    `offer_timeout = ${config.media.offerTimeout}`,
    `max_streams = ${config.media.maxStreams}`,
    `max_offers_per_source = ${config.media.maxOffersPerSource}`,
    `max_sessions_per_source = ${config.media.maxSessionsPerSource}`,
    "",
    "[pbx]",
    ...describeTargets(config),
    `failover_on = [${config.pbx.failoverOn.join(", ")}]`,
    `reply_timeout = ${config.pbx.replyTimeout}`,
    `ring_timeout = ${config.pbx.ringTimeout}`,
    "",
    "[pbx.health]",
    `interval = ${config.pbx.health.interval}`,
    `failures = ${config.pbx.health.failures}`,
    `successes = ${config.pbx.health.successes}`,
    `failure_status = ${quote(config.pbx.health.failureStatus)}`,
    "",
    "[limits]",
    `calls = ${config.limits.calls}`,
    `calls_per_second = ${config.limits.callsPerSecond}`,
    "",
    "[sip]",
    `tcp_idle_timeout = ${config.sip.tcpIdleTimeout}`,
    `tcp_message_timeout = ${config.sip.tcpMessageTimeout}`,
    `max_tcp_connections = ${config.sip.maxTcpConnections}`,
    `max_tcp_per_source = ${config.sip.maxTcpPerSource}`,
    `rate_limit = ${config.sip.rateLimit}`,
    `ban_time = ${config.sip.banTime}`,
    `max_transactions = ${config.sip.maxTransactions}`,
    `max_transactions_per_source = ${config.sip.maxTransactionsPerSource}`,
    "",
    "[routing]",
    config.routing.script === undefined
      ? "# script not set: the built-in bridge pipeline"
      : `script = ${quote(config.routing.script)}`,
    "",
    "[admin]",
    config.admin.listen === undefined
      ? "# listen not set: no admin listener"
      : `listen = ${quote(formatHostPort(config.admin.listen))}`,
    config.admin.tokenFile === undefined
      ? "# token_file not set: no token (loopback or internal listen only)"
      : `token_file = ${quote(config.admin.tokenFile)}`,
    `metrics_open = ${config.admin.metricsOpen}`,
  ];
  return lines.join("\n") + "\n";
}

function describeInterface(iface: InterfaceConfig): string[] {
  return [
    `[interfaces.${iface.name}]`,
    `role = ${quote(iface.role)}`,
    `sip = [${iface.sip.map((address) => quote(formatSocketAddress(address))).join(", ")}]`,
    `media = ${quote(iface.media)}`,
    iface.advertise === undefined
      ? "# advertise not set: the listen and media addresses"
      : `advertise = ${quote(iface.advertise)}`,
    `flags = ${quote(iface.flags)}`,
    `allow = ${networks(iface.allow)}`,
    `deny = ${networks(iface.deny)}`,
    `trusted = ${networks(iface.trusted)}`,
    `networks = ${networks(iface.networks)}`,
    `topology_hiding = ${iface.topologyHiding}`,
    iface.serverHeader === undefined
      ? "# server_header not set: Server and User-Agent are removed when hiding"
      : `server_header = ${quote(iface.serverHeader)}`,
    `nat_ping = ${iface.natPing}`,
    `srtp = ${quote(iface.srtp)}`,
    ...describeTls(iface),
  ];
}

/** One PBX as `address`, a pool as `targets` (as the file gave them, defaults filled in). */
function describeTargets({ pbx }: Config): string[] {
  const [only, ...more] = pbx.targets;
  if (only !== undefined && more.length === 0 && only.priority === 1 && only.weight === 1) {
    return [`address = ${quote(formatSocketAddress(only.address))}`];
  }
  return [
    "targets = [",
    ...pbx.targets.map((t) =>
      `  { address = ${
        quote(formatSocketAddress(t.address))
      }, priority = ${t.priority}, weight = ${t.weight} },`
    ),
    "]",
  ];
}

function describeTls({ name, tls }: InterfaceConfig): string[] {
  if (tls === undefined) return [];
  return [
    "",
    `[interfaces.${name}.tls]`,
    `cert = ${quote(tls.cert)}`,
    `key = ${quote(tls.key)}`,
    `min_version = ${quote(tls.minVersion)}`,
    tls.ca === undefined
      ? "# ca not set: servers verified by the system's CAs"
      : `ca = ${quote(tls.ca)}`,
    `verify_client = ${tls.verifyClient}`,
  ];
}

function networks(list: readonly Cidr[]): string {
  return `[${list.map((network) => quote(network.text)).join(", ")}]`;
}

// JSON's string escapes are a subset of TOML basic-string escapes.
function quote(text: string): string {
  return JSON.stringify(text);
}
