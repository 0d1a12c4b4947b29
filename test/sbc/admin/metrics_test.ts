import assert from "node:assert/strict";
import {
  metric,
  METRICS,
  type MetricsSnapshot,
  renderMetrics,
} from "../../../sbc/admin/metrics.ts";

Deno.test("metric() writes HELP, TYPE and the sample", () => {
  assert.equal(
    metric("edgesbc_rtp_sessions", "gauge", "Media sessions", 3),
    "# HELP edgesbc_rtp_sessions Media sessions\n# TYPE edgesbc_rtp_sessions gauge\n" +
      "edgesbc_rtp_sessions 3\n",
  );
});

Deno.test("metric() writes labels in order, escaping backslash, quote and line feed", () => {
  const text = metric("x_info", "gauge", "Info", 1, { a: "1.0", b: 'say "hi"\\\n' });
  assert.equal(text.split("\n")[2], 'x_info{a="1.0",b="say \\"hi\\"\\\\\\n"} 1');
});

interface Family {
  type: string;
  help: string;
  samples: { labels: Record<string, string>; value: number }[];
}

/** A reader of the text exposition format (0.0.4), strict about what edgesbc writes. */
function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  assert.ok(text.endsWith("\n"), "the page ends with a line feed");
  for (const line of text.slice(0, -1).split("\n")) {
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (comment) {
      const [, kind, name, rest] = comment as unknown as [string, string, string, string];
      const family = families.get(name) ?? { type: "", help: "", samples: [] };
      assert.equal(family.samples.length, 0, `${name}: HELP and TYPE come before its sample`);
      if (kind === "HELP") family.help = rest;
      else family.type = rest;
      families.set(name, family);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(sample, `a sample line: ${line}`);
    const [, name, labelText, value] = sample;
    const family = families.get(name!);
    assert.ok(family?.type && family.help, `${name}: HELP and TYPE first`);
    const labels: Record<string, string> = {};
    for (const [, key, v] of (labelText ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key!] = v!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    }
    family.samples.push({ labels, value: Number(value) });
  }
  return families;
}

const SNAPSHOT: MetricsSnapshot = {
  sip: {
    requests: 11,
    responses: 12,
    parseErrors: 3,
    rejected: 4,
    timeouts: 5,
    routeErrors: 6,
    denied: 13,
    boundary: 14,
    noDialog: 15,
    rateLimited: 16,
    bans: 17,
    overloaded: 18,
    callsRefused: { limit_calls: 21, limit_rate: 22, no_pbx: 23 },
  },
  serverTransactions: 7,
  tcpConnections: 8,
  tcpRefused: 19,
  media: {
    portsInUse: 20,
    portsFree: 180,
    sessions: 2,
    streams: 3,
    packetsRelayed: 1000,
    bytesRelayed: 172000,
    drops: 9,
    srtpFailures: 4,
    offersRefused: 10,
  },
  build: { version: "0.3.0", commit: "abc", deno: "2.9.6", v8: "15.0" },
  pbx: [{ target: "udp:10.0.0.10:5060", up: true }, { target: "udp:10.0.0.11:5060", up: false }],
  configLoadedAt: 1_800_000_000,
};

/** Metrics with one sample per label value rather than one in all. */
const LABELLED = new Set(["edgesbc_pbx_up", "edgesbc_calls_refused_total"]);

Deno.test("/metrics parses as the exposition format: every metric once, typed, helped, with its value", () => {
  const families = parseExposition(renderMetrics(SNAPSHOT));
  assert.deepEqual([...families.keys()], METRICS.map((m) => m.name));
  for (const [name, family] of families) {
    if (!LABELLED.has(name)) assert.equal(family.samples.length, 1, name);
    assert.ok(["counter", "gauge"].includes(family.type), name);
    assert.equal(name.endsWith("_total"), family.type === "counter", `${name}: _total iff counter`);
  }
  const value = (name: string) => families.get(name)!.samples[0]!.value;
  assert.equal(value("edgesbc_sip_requests_total"), 11);
  assert.equal(value("edgesbc_sip_rejected_total"), 4);
  assert.equal(value("edgesbc_sip_transactions"), 7);
  assert.equal(value("edgesbc_sip_tcp_connections"), 8);
  assert.equal(value("edgesbc_rtp_ports_in_use"), 20);
  assert.equal(value("edgesbc_rtp_bytes_relayed_total"), 172000);
  assert.equal(value("edgesbc_rtp_drops_total"), 9);
  assert.equal(value("edgesbc_srtp_failures_total"), 4);
  assert.equal(value("edgesbc_config_loaded_timestamp_seconds"), 1_800_000_000);
  assert.deepEqual(families.get("edgesbc_pbx_up")!.samples, [
    { labels: { target: "udp:10.0.0.10:5060" }, value: 1 },
    { labels: { target: "udp:10.0.0.11:5060" }, value: 0 },
  ]);
  assert.deepEqual(families.get("edgesbc_calls_refused_total")!.samples, [
    { labels: { reason: "limit_calls" }, value: 21 },
    { labels: { reason: "limit_rate" }, value: 22 },
    { labels: { reason: "no_pbx" }, value: 23 },
  ]);
  assert.deepEqual(families.get("edgesbc_build_info")!.samples[0], {
    labels: { version: "0.3.0", commit: "abc", deno: "2.9.6" },
    value: 1,
  });
});
