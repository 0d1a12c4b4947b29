/**
 * The /metrics page (Prometheus text exposition format 0.0.4): every metric name edgesbc exports,
 * in one table, rendered from a snapshot of the process's counters. Pure: the admin server asks
 * start_sbc.ts for the snapshot.
 *
 * @module
 */
import type { RelayStats } from "../../rtp/session.ts";
import type { SipCounters } from "../proxy/sip_counters.ts";
import type { BuildInfo } from "./build_info.ts";

/** What /metrics shows, read at request time. */
export interface MetricsSnapshot {
  readonly sip: SipCounters;
  readonly serverTransactions: number;
  readonly tcpConnections: number;
  /** Inbound TCP connections closed at once by a cap. */
  readonly tcpRefused: number;
  readonly media: RelayStats;
  readonly build: BuildInfo;
  /** Each PBX target and whether it is up. */
  readonly pbx: readonly { readonly target: string; readonly up: boolean }[];
  /** When the running config was loaded, in seconds since the epoch. */
  readonly configLoadedAt: number;
}

/** One exported metric: its name, type, help text and where its value comes from. */
export interface MetricRow {
  readonly name: string;
  readonly type: "counter" | "gauge";
  readonly help: string;
  readonly value: (s: MetricsSnapshot) => number;
  readonly labels?: (s: MetricsSnapshot) => Readonly<Record<string, string>>;
  /** Several samples of one metric, each with its labels (then `value` is not used). */
  readonly samples?: (s: MetricsSnapshot) => readonly Sample[];
}

export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export const METRICS: readonly MetricRow[] = [
  {
    name: "edgesbc_build_info",
    type: "gauge",
    help: "The running build; always 1",
    value: () => 1,
    labels: ({ build }) => ({ version: build.version, commit: build.commit, deno: build.deno }),
  },
  counter("edgesbc_sip_requests_total", "SIP requests received", (s) => s.sip.requests),
  counter("edgesbc_sip_responses_total", "SIP responses received", (s) => s.sip.responses),
  counter("edgesbc_sip_parse_errors_total", "Malformed SIP messages", (s) => s.sip.parseErrors),
  counter(
    "edgesbc_sip_rejected_total",
    "Requests answered >= 300 by the SBC",
    (s) => s.sip.rejected,
  ),
  counter("edgesbc_sip_timeouts_total", "Client transactions timed out", (s) => s.sip.timeouts),
  counter(
    "edgesbc_sip_route_errors_total",
    "Routing failures (script errors)",
    (s) => s.sip.routeErrors,
  ),
  counter(
    "edgesbc_sip_denied_total",
    "SIP messages dropped unparsed: refused by allow/deny, or from the other side's networks",
    (s) => s.sip.denied,
  ),
  counter(
    "edgesbc_sip_boundary_refused_total",
    "SIP messages not sent: their destination belongs to the other interface's networks",
    (s) => s.sip.boundary,
  ),
  counter(
    "edgesbc_sip_no_dialog_total",
    "In-dialog requests from outside refused: no dialog the SBC set up matches them",
    (s) => s.sip.noDialog,
  ),
  counter(
    "edgesbc_sip_rate_limited_total",
    "SIP messages dropped from an address banned past sip.rate_limit",
    (s) => s.sip.rateLimited,
  ),
  counter(
    "edgesbc_sip_bans_total",
    "Outside addresses banned past sip.rate_limit",
    (s) => s.sip.bans,
  ),
  counter(
    "edgesbc_sip_overload_total",
    "New requests answered 503 with sip.max_transactions alive",
    (s) => s.sip.overloaded,
  ),
  gauge("edgesbc_sip_transactions", "Server transactions alive", (s) => s.serverTransactions),
  gauge("edgesbc_sip_tcp_connections", "Open TCP connections", (s) => s.tcpConnections),
  counter(
    "edgesbc_sip_tcp_refused_total",
    "Inbound TCP connections closed at once (sip.max_tcp_connections, sip.max_tcp_per_source)",
    (s) => s.tcpRefused,
  ),
  gauge("edgesbc_rtp_sessions", "Media sessions", (s) => s.media.sessions),
  gauge("edgesbc_rtp_ports_in_use", "RTP/RTCP ports in use", (s) => s.media.portsInUse),
  gauge("edgesbc_rtp_ports_free", "RTP/RTCP ports free", (s) => s.media.portsFree),
  counter(
    "edgesbc_rtp_packets_relayed_total",
    "RTP/RTCP packets relayed",
    (s) => s.media.packetsRelayed,
  ),
  counter(
    "edgesbc_rtp_bytes_relayed_total",
    "RTP/RTCP bytes relayed",
    (s) => s.media.bytesRelayed,
  ),
  counter("edgesbc_rtp_drops_total", "RTP/RTCP packets dropped", (s) => s.media.drops),
  counter(
    "edgesbc_srtp_failures_total",
    "SRTP/SRTCP packets dropped: authentication or replay check failed",
    (s) => s.media.srtpFailures,
  ),
  counter(
    "edgesbc_rtp_offers_refused_total",
    "SDP offers refused by a cap (media.max_streams, media.max_offers_per_source)",
    (s) => s.media.offersRefused,
  ),
  {
    name: "edgesbc_pbx_up",
    type: "gauge",
    help: "1 when the PBX target is up (health checks), 0 when it is down",
    value: () => 0,
    samples: (s) => s.pbx.map(({ target, up }) => ({ labels: { target }, value: up ? 1 : 0 })),
  },
  {
    name: "edgesbc_calls_refused_total",
    type: "counter",
    help: "New calls answered 503: [limits] calls or calls_per_second, or no PBX target up",
    value: () => 0,
    samples: (s) =>
      Object.entries(s.sip.callsRefused).map(([reason, value]) => ({ labels: { reason }, value })),
  },
  gauge(
    "edgesbc_config_loaded_timestamp_seconds",
    "When the running config was loaded (start or reload), seconds since the epoch",
    (s) => s.configLoadedAt,
  ),
];

function counter(name: string, help: string, value: MetricRow["value"]): MetricRow {
  return { name, type: "counter", help, value };
}

function gauge(name: string, help: string, value: MetricRow["value"]): MetricRow {
  return { name, type: "gauge", help, value };
}

/** The whole /metrics page for a snapshot. */
export function renderMetrics(snapshot: MetricsSnapshot): string {
  return METRICS.map((row) =>
    row.samples
      ? samples(row.name, row.type, row.help, row.samples(snapshot))
      : metric(row.name, row.type, row.help, row.value(snapshot), row.labels?.(snapshot))
  ).join("");
}

/** One metric with several labelled samples. */
function samples(
  name: string,
  type: "counter" | "gauge",
  help: string,
  list: readonly Sample[],
): string {
  const lines = list.map(({ labels, value }) => `${name}${labelSet(labels)} ${value}\n`);
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${lines.join("")}`;
}

function labelSet(labels: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(labels).map(([key, v]) => `${key}="${escapeLabelValue(v)}"`);
  return pairs.length > 0 ? `{${pairs.join(",")}}` : "";
}

/** One metric: `# HELP`, `# TYPE` and its sample. */
export function metric(
  name: string,
  type: "counter" | "gauge",
  help: string,
  value: number,
  labels: Readonly<Record<string, string>> = {},
): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name}${labelSet(labels)} ${value}\n`;
}

// Exposition format: a label value escapes backslash, double quote and line feed.
function escapeLabelValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}
