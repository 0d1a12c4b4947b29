/**
 * RTP relay benchmark: edgesbc (the real process, calls set up over SIP; once with FFI sockets,
 * once without --allow-ffi on Deno sockets) against rtpengine in userspace (calls set up over its
 * ng protocol), with the same load generator, bench/rtp_load.c. Both relays are also measured
 * bridging SDES-SRTP on the phone's side to plain RTP on the PBX's (edgesbc: `srtp =
 * "mandatory"` on the external interface; rtpengine: an RTP/SAVP offer bridged with
 * `transport-protocol: RTP/AVP`); the generator then speaks SRTP as the phone, both ways.
 *
 * Each call is one audio stream, 172-byte packets at 50/s in both directions: the phone on
 * 127.0.1.10 sends to the relay's external address 127.0.1.1, the PBX on 127.0.2.10 to the
 * internal 127.0.2.1. The number of calls ramps up until 0.1% or more of the packets are lost,
 * then bisects; the relay is pinned to one core and the generator to the other.
 * Writes the result between `<!-- rtp:begin -->` and `<!-- rtp:end -->` in docs/benchmarks.md.
 *
 *   deno run -A bench/rtp_bench.ts [--only NAME[,NAME...]] [--seconds 5] [--no-docs] [--notes TEXT]
 *
 * NAME: edgesbc-ffi, edgesbc-ffi-srtp, edgesbc-deno, rtpengine, rtpengine-srtp. The docs are
 * written only when all of them ran.
 *
 * Traffic stays on loopback; every loop is bounded in count and time.
 */

import { parseArgs } from "node:util";
import { BENCHMARKS_MD, writeSection } from "./docs_section.ts";

const REPO_ROOT = new URL("../", import.meta.url).pathname;
const PHONE = "127.0.1.10";
const PBX = "127.0.2.10";
const EXTERNAL = "127.0.1.1";
const INTERNAL = "127.0.2.1";
/** SIP ports of bench slot n (one per system, all running at once): 27060 + 10n and up. */
const SIP_PORT_BASE = 27060;
/** ng port of the rtpengine in bench slot n: NG_PORT + n. */
const NG_PORT = 22222;
/** Relay port range of bench slot n: 3500 pairs per media address from 10000 + 7000n. */
function relayPorts(slot: number): [number, number] {
  return [10000 + 7000 * slot, 16999 + 7000 * slot];
}
/**
 * Every call's phone end is 127.0.1.10:20000 and its PBX end 127.0.2.10:20000: a relay tells
 * streams apart by its own ports, and one socket per side keeps the generator cheap.
 */
const ENDPOINT_PORT = 20000;
const MAX_CALLS = 3000;
const RATE = 50;
const PACKET_SIZE = 172;
const LOSS_LIMIT = 0.001;
const MAX_RUNS = 16;
const HALF_RUNS = 3;
const RELAY_CPU = "1";
const LOAD_CPU = "0";

interface LoadResult {
  flows: number;
  sent: number;
  received: number;
  /** Received more than 100 ms after sending: counted as lost. */
  late: number;
  sendErrors: number;
  foreign: number;
  stale: number;
  silentFlows: number;
  p50us: number;
  p99us: number;
  p999us: number;
  maxLagUs: number;
  lagOver1ms: number;
  /** The generator's own CPU time (user + system) and wall time over the timed run. */
  cpuUs: number;
  elapsedUs: number;
  /** Of cpuUs: time spent protecting and unprotecting (SRTP rows). */
  srtpUs: number;
  srtpSent: number;
  /** Packets from the relay to the phone that authenticated and decrypted with the relay's key. */
  srtpReceived: number;
  /** ...that failed authentication (not received). */
  srtpFailures: number;
  /** ...that arrived with their payload in clear: the relay did not encrypt. */
  srtpClear: number;
}

interface Run {
  calls: number;
  pps: number;
  loss: number;
  cpuUsPerPacket: number;
  /** Share of one core the relay process used during the run. */
  cpuLoad: number;
  /** UDP datagrams the kernel dropped for a full receive buffer, any socket, during the run. */
  rcvbufErrors: number;
  /** Per core, share of the run's time: user, system, softirq, idle, steal. */
  cores: CoreShare[];
  load: LoadResult;
  /** Packets the relay dropped for failed SRTP authentication or replay during the run. */
  relaySrtpFailures: number | undefined;
}

interface CoreShare {
  user: number;
  system: number;
  softirq: number;
  idle: number;
  steal: number;
}

/** Per-core tick counters from /proc/stat: user, nice, system, idle, iowait, irq, softirq, steal. */
function coreTicks(): number[][] {
  return Deno.readTextFileSync("/proc/stat").split("\n")
    .filter((l) => /^cpu\d/.test(l))
    .map((l) => l.split(/\s+/).slice(1, 9).map(Number));
}

function coreShare(a: number[], b: number[]): CoreShare {
  const d = b.map((v, i) => v - a[i]!);
  const total = d.reduce((x, y) => x + y, 0) || 1;
  return {
    user: (d[0]! + d[1]!) / total,
    system: (d[2]! + d[5]!) / total,
    softirq: d[6]! / total,
    idle: (d[3]! + d[4]!) / total,
    steal: d[7]! / total,
  };
}

/** Where a call's phone and PBX send, and for an SRTP call the two keys of the phone's leg. */
interface CallMedia {
  external: number;
  internal: number;
  /** Master keys (key || salt) in hex: the phone's (what it sends), the relay's (what it gets). */
  srtp?: { phone: string; relay: string };
}

/** A relay under test: sets up calls, reports its pid, stops. */
interface System {
  readonly name: string;
  readonly version: string;
  readonly pid: number;
  /** The phone's side speaks SRTP (SDES), the PBX's plain RTP. */
  readonly srtp: boolean;
  ensureCalls(n: number): Promise<void>;
  /** Media addresses per call index: where the phone and the PBX send. */
  relayPorts(i: number): CallMedia;
  /** The relay's count of packets dropped for SRTP authentication or replay, when it tells. */
  srtpFailures?(): Promise<number>;
  stop(): Promise<void>;
}

interface SystemResult {
  name: string;
  version: string;
  srtp: boolean;
  runs: Run[];
  best: Run | undefined;
  half: Run | undefined;
}

// ---------------------------------------------------------------------------------------------
// Load generator

async function compileLoad(dir: string): Promise<string> {
  const out = `${dir}/rtp_load`;
  const { success, stderr } = await new Deno.Command("cc", {
    // libcrypto does the SRTP per packet, libsrtp checks it at start (bench/rtp_load_srtp.h)
    args: ["-O2", "-o", out, `${REPO_ROOT}bench/rtp_load.c`, "-lsrtp2", "-lcrypto"],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) throw new Error(`cc failed: ${new TextDecoder().decode(stderr)}`);
  return out;
}

async function runLoad(
  binary: string,
  dir: string,
  system: System,
  calls: number,
  seconds: number,
): Promise<Run> {
  const lines: string[] = [];
  for (let i = 0; i < calls; i++) {
    const port = ENDPOINT_PORT;
    const relay = system.relayPorts(i);
    // pairs: the phone's packets arrive at the PBX and the other way round; with SRTP the phone
    // protects what it sends with its key, and the PBX's packets reach it under the relay's
    const keys = relay.srtp;
    lines.push(`${PHONE} ${port} ${EXTERNAL} ${relay.external}${keys ? ` ${keys.phone} -` : ""}`);
    lines.push(`${PBX} ${port} ${INTERNAL} ${relay.internal}${keys ? ` - ${keys.relay}` : ""}`);
  }
  const flows = `${dir}/flows.txt`;
  await Deno.writeTextFile(flows, lines.join("\n") + "\n");
  await settle(system.pid);
  const drops = rcvbufErrors();
  const srtpBefore = await system.srtpFailures?.();
  const cores = coreTicks();
  const before = cpuTicks(system.pid);
  const started = performance.now();
  const { success, stdout, stderr } = await new Deno.Command("taskset", {
    args: [
      "-c",
      LOAD_CPU,
      binary,
      flows,
      `${RATE}`,
      `${seconds}`,
      `${PACKET_SIZE}`,
      `${++runId}`,
    ],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout((seconds + 30) * 1000),
  }).output();
  const elapsed = (performance.now() - started) / 1000;
  const ticks = cpuTicks(system.pid) - before;
  const coresAfter = coreTicks();
  if (!success) throw new Error(`rtp_load failed: ${new TextDecoder().decode(stderr)}`);
  const load = JSON.parse(new TextDecoder().decode(stdout)) as LoadResult;
  if (system.srtp && (load.srtpClear > 0 || load.srtpReceived === 0)) {
    throw new Error(
      `${system.name}: the relay does not encrypt towards the phone (${load.srtpClear} packets ` +
        `in clear, ${load.srtpReceived} decrypted)`,
    );
  }
  const srtpAfter = await system.srtpFailures?.();
  const cpuUs = ticks * 1e6 / CLOCK_TICKS;
  // priming packets (3 per flow) are relayed too
  const relayed = load.received + 3 * load.flows;
  return {
    calls,
    pps: calls * 2 * RATE,
    loss: load.sent === 0 ? 1 : 1 - (load.received - load.late) / load.sent,
    cpuUsPerPacket: relayed === 0 ? 0 : cpuUs / relayed,
    cpuLoad: cpuUs / 1e6 / elapsed,
    rcvbufErrors: rcvbufErrors() - drops,
    cores: coresAfter.map((after, c) => coreShare(cores[c]!, after)),
    load,
    relaySrtpFailures: srtpBefore === undefined || srtpAfter === undefined
      ? undefined
      : srtpAfter - srtpBefore,
  };
}

const CLOCK_TICKS = 100;
let runId = 0;

/** Waits (at most 15 s) until the relay has used no CPU for half a second: backlog drained. */
async function settle(pid: number): Promise<void> {
  const end = Date.now() + 15_000;
  let last = cpuTicks(pid);
  let quiet = 0;
  while (quiet < 2 && Date.now() < end) {
    await sleep(250);
    const now = cpuTicks(pid);
    quiet = now - last <= 1 ? quiet + 1 : 0;
    last = now;
  }
}

/** The kernel's count of UDP datagrams dropped on a full receive buffer (/proc/net/snmp). */
function rcvbufErrors(): number {
  const lines = Deno.readTextFileSync("/proc/net/snmp").split("\n").filter((l) =>
    l.startsWith("Udp:")
  );
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/);
  return Number(values[names.indexOf("RcvbufErrors")]);
}

/** utime + stime of a process, all threads, in clock ticks. */
function cpuTicks(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // the command name may hold spaces: fields count from after its closing parenthesis
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}

/** Share of its core the generator used in the timed run, and of that what SRTP took. */
function genLoad(run: Run): number {
  return run.load.elapsedUs === 0 ? 0 : run.load.cpuUs / run.load.elapsedUs;
}

function genSrtp(run: Run): number {
  return run.load.elapsedUs === 0 ? 0 : run.load.srtpUs / run.load.elapsedUs;
}

function passes(run: Run): boolean {
  return run.loss < LOSS_LIMIT && run.load.silentFlows === 0;
}

/**
 * Ramps the number of calls up by 1.5x until a system loses packets, then bisects three times.
 * The systems take turns at each level (in rotating order), so a neighbour's burst on a shared
 * machine hits them alike; a failed run is retried once.
 */
async function measureAll(
  binary: string,
  dir: string,
  systems: System[],
  seconds: number,
): Promise<SystemResult[]> {
  const states = systems.map((system) => ({
    system,
    runs: [] as Run[],
    good: undefined as Run | undefined,
    bad: undefined as Run | undefined,
  }));
  type State = typeof states[number];
  const run = async (st: State, calls: number): Promise<Run> => {
    const { system } = st;
    await system.ensureCalls(calls);
    const r = await runLoad(binary, dir, system, calls, seconds);
    st.runs.push(r);
    console.error(
      `${system.name}: ${r.calls} calls ${r.pps} pps loss ${(r.loss * 100).toFixed(3)}% ` +
        `cpu ${r.cpuUsPerPacket.toFixed(2)} us/pkt (${pct(r.cpuLoad)} core) ` +
        `rcvbuf drops ${r.rcvbufErrors} stale ${r.load.stale} cores ${
          r.cores.map((c) =>
            `[us ${pct(c.user)} sy ${pct(c.system)} si ${pct(c.softirq)} id ${pct(c.idle)}]`
          ).join(" ")
        } p50 ${r.load.p50us} p99 ${r.load.p99us} us, gen lag max ${r.load.maxLagUs} us ` +
        `gen cpu ${pct(genLoad(r))}` +
        (system.srtp
          ? ` (srtp ${pct(genSrtp(r))}) srtp ok ${r.load.srtpReceived} gen fail ` +
            `${r.load.srtpFailures} relay fail ${r.relaySrtpFailures ?? "?"}`
          : ""),
    );
    return r;
  };
  /** One level for one system: a run, and a second one if the first failed. */
  const level = async (st: State, calls: number): Promise<Run> => {
    const r = await run(st, calls);
    if (passes(r) || st.runs.length >= MAX_RUNS) return r;
    return await run(st, calls);
  };
  let turn = 0;
  const inTurn = (list: State[]) => {
    turn++;
    return list.map((_, i) => list[(i + turn) % list.length]!);
  };
  let calls = Number(Deno.env.get("RTP_BENCH_START") ?? 50);
  for (;;) {
    const climbing = states.filter((st) => st.bad === undefined && st.runs.length < MAX_RUNS);
    if (climbing.length === 0 || calls > MAX_CALLS) break;
    for (const st of inTurn(climbing)) {
      const r = await level(st, calls);
      if (passes(r)) st.good = r;
      else st.bad = r;
    }
    const next = Math.min(MAX_CALLS, Math.ceil(calls * 1.5 / 10) * 10);
    if (next === calls) break;
    calls = next;
  }
  for (let step = 0; step < 3; step++) {
    for (const st of inTurn(states)) {
      const { good, bad } = st;
      if (good === undefined || bad === undefined || st.runs.length >= MAX_RUNS) continue;
      const mid = Math.round((good.calls + bad.calls) / 20) * 10;
      if (mid <= good.calls || mid >= bad.calls) continue;
      const r = await level(st, mid);
      if (passes(r)) st.good = r;
      else st.bad = r;
    }
  }
  // Latency at half load: three turns each, the run with the median p99 reported, since one
  // neighbour's burst sets a single run's p99.
  const halves = new Map<State, Run[]>();
  for (let k = 0; k < HALF_RUNS; k++) {
    for (const st of inTurn(states)) {
      if (st.good === undefined) continue;
      const r = await run(st, Math.max(10, Math.round(st.good.calls / 20) * 10));
      halves.set(st, [...(halves.get(st) ?? []), r]);
    }
  }
  return states.map((st) => {
    const sorted = (halves.get(st) ?? []).sort((a, b) => a.load.p99us - b.load.p99us);
    return {
      name: st.system.name,
      version: st.system.version,
      srtp: st.system.srtp,
      runs: st.runs,
      best: st.good,
      half: sorted[Math.floor(sorted.length / 2)],
    };
  });
}

// ---------------------------------------------------------------------------------------------
// edgesbc, set up over SIP

const enc = new TextEncoder();
const dec = new TextDecoder();

/** An audio offer or answer; with `key` (30 bytes) RTP/SAVP and its `a=crypto` (SDES). */
function sdp(ip: string, port: number, id: number, key?: Uint8Array): string {
  return [
    "v=0",
    `o=- ${id} 1 IN IP4 ${ip}`,
    "s=-",
    `c=IN IP4 ${ip}`,
    "t=0 0",
    `m=audio ${port} ${key ? "RTP/SAVP" : "RTP/AVP"} 8`,
    "a=rtpmap:8 PCMA/8000",
    ...(key ? [`a=crypto:1 ${SRTP_SUITE} inline:${btoa(String.fromCharCode(...key))}`] : []),
    "a=sendrecv",
    "",
  ].join("\r\n");
}

const SRTP_SUITE = "AES_CM_128_HMAC_SHA1_80";
const CRYPTO_REGEXP = /^a=crypto:\d+ AES_CM_128_HMAC_SHA1_80 inline:([A-Za-z0-9+/]{40})/m;

/** A fresh SDES master key: 16 bytes of key, 14 of salt. */
function newSrtpKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(30));
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The relay's key towards the phone from its SDP, in hex; undefined unless the SDP is RTP/SAVP
 * with an AES_CM_128_HMAC_SHA1_80 key.
 */
function relayKey(body: string): string | undefined {
  const key = CRYPTO_REGEXP.exec(body)?.[1];
  if (key === undefined || !/^m=audio \d+ RTP\/SAVP /m.test(body)) return undefined;
  return hex(Uint8Array.from(atob(key), (c) => c.charCodeAt(0)));
}

function sdpPort(body: string): number | undefined {
  const m = /^m=audio (\d+)/m.exec(body);
  return m ? Number(m[1]) : undefined;
}

function headerValues(text: string, name: string): string[] {
  const head = text.slice(0, text.indexOf("\r\n\r\n"));
  const out: string[] = [];
  for (const line of head.split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === name) {
      out.push(line.slice(colon + 1).trim());
    }
  }
  return out;
}

function bodyOf(text: string): string {
  return text.slice(text.indexOf("\r\n\r\n") + 4);
}

/**
 * The SBC process; `ffi` false runs it without --allow-ffi, so the relay uses Deno sockets;
 * `srtp` makes the external side `srtp = "mandatory"` (the phone offers RTP/SAVP with its key)
 * and opens the admin API, whose counters show the relay's SRTP failures.
 */
async function startEdgesbc(
  dir: string,
  slot: number,
  { ffi, srtp }: { ffi: boolean; srtp: boolean },
): Promise<System> {
  const SIP_PORT = SIP_PORT_BASE + 10 * slot;
  const PHONE_SIP_PORT = SIP_PORT + 1;
  const PBX_SIP_PORT = SIP_PORT + 2;
  const ADMIN = `127.0.0.1:${SIP_PORT + 3}`;
  const RELAY_PORTS = relayPorts(slot);
  const config = `${srtp ? `[admin]\nlisten = "${ADMIN}"\n\n` : ""}[interfaces.external]
role = "external"
sip = ["udp:${EXTERNAL}:${SIP_PORT}"]
media = "${EXTERNAL}"
${srtp ? 'srtp = "mandatory"\n' : ""}
[interfaces.internal]
role = "internal"
sip = ["udp:${INTERNAL}:${SIP_PORT}"]
media = "${INTERNAL}"

[media]
ports = [${RELAY_PORTS[0]}, ${RELAY_PORTS[1]}]
timeout = 3600
# Every call comes from one phone address, far past a real source's rate: no caps in the way.
max_offers_per_source = 1000000
max_sessions_per_source = 1000000

[sip]
rate_limit = 1000000

[pbx]
address = "udp:${PBX}:${PBX_SIP_PORT}"

# The bench's PBX takes no OPTIONS pings.
[pbx.health]
interval = 0
`;
  await Deno.writeTextFile(`${dir}/bench${slot}.toml`, config);
  const child = new Deno.Command("taskset", {
    args: [
      "-c",
      RELAY_CPU,
      Deno.execPath(),
      "run",
      ...(ffi ? ["-A"] : ["--allow-net", "--allow-read", "--allow-env", "--allow-sys"]),
      "main.ts",
      "run",
      "-c",
      `${dir}/bench${slot}.toml`,
    ],
    cwd: REPO_ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const errLog = (async () => {
    const file = await Deno.open(`${dir}/edgesbc${slot}.err`, { write: true, create: true });
    await child.stderr.pipeTo(file.writable);
  })();
  const phone = Deno.listenDatagram({ transport: "udp", hostname: PHONE, port: PHONE_SIP_PORT });
  const pbx = Deno.listenDatagram({ transport: "udp", hostname: PBX, port: PBX_SIP_PORT });
  const ports: CallMedia[] = [];
  /** The phone's key per call (SRTP). */
  const phoneKeys: Uint8Array[] = [];
  /** Per Call-ID: the phone's INVITE waits for the 200 (`external` undefined: refused). */
  const waiting = new Map<string, (external: number | undefined, text: string) => void>();
  const answered = new Map<string, Uint8Array>();
  let setUp = 0;

  // Fake PBX: answers every INVITE with 200 + SDP, remembers the relay's internal port.
  const pbxLoop = (async () => {
    for (;;) {
      let packet: [Uint8Array, Deno.Addr];
      try {
        packet = await pbx.receive();
      } catch {
        return;
      }
      const text = dec.decode(packet[0]);
      if (!text.startsWith("INVITE ")) continue;
      const callId = headerValues(text, "call-id")[0] ?? "";
      const i = Number(callId.split("-")[1]);
      let reply = answered.get(callId);
      if (reply === undefined) {
        const internal = sdpPort(bodyOf(text));
        if (internal === undefined) continue;
        ports[i] = { external: 0, internal };
        const body = sdp(PBX, ENDPOINT_PORT, i);
        reply = enc.encode(
          [
            "SIP/2.0 200 OK",
            ...headerValues(text, "via").map((v) => `Via: ${v}`),
            ...headerValues(text, "record-route").map((v) => `Record-Route: ${v}`),
            `From: ${headerValues(text, "from")[0]}`,
            `To: ${headerValues(text, "to")[0]};tag=b${i}`,
            `Call-ID: ${callId}`,
            `CSeq: ${headerValues(text, "cseq")[0]}`,
            `Contact: <sip:pbx@${PBX}:${PBX_SIP_PORT}>`,
            "Content-Type: application/sdp",
            `Content-Length: ${body.length}`,
            "",
            body,
          ].join("\r\n"),
        );
        answered.set(callId, reply);
      }
      await pbx.send(reply, packet[1]);
    }
  })();

  // Fake phone: takes the 200's SDP port, ACKs along the route set.
  const phoneLoop = (async () => {
    for (;;) {
      let packet: [Uint8Array, Deno.Addr];
      try {
        packet = await phone.receive();
      } catch {
        return;
      }
      const text = dec.decode(packet[0]);
      const callId = headerValues(text, "call-id")[0] ?? "";
      if (/^SIP\/2\.0 [3-6]\d\d /.test(text)) waiting.get(callId)?.(undefined, text);
      if (!text.startsWith("SIP/2.0 200")) continue;
      const external = sdpPort(bodyOf(text));
      const done = waiting.get(callId);
      if (external === undefined || done === undefined) continue;
      waiting.delete(callId);
      const i = Number(callId.split("-")[1]);
      const answer = bodyOf(text);
      const routes = headerValues(text, "record-route").flatMap((v) => v.split(",")).reverse();
      const ack = [
        `ACK sip:pbx@${PBX}:${PBX_SIP_PORT} SIP/2.0`,
        `Via: SIP/2.0/UDP ${PHONE}:${PHONE_SIP_PORT};branch=z9hG4bK-ack-${i};rport`,
        ...routes.map((r) => `Route: ${r.trim()}`),
        "Max-Forwards: 70",
        `From: ${headerValues(text, "from")[0]}`,
        `To: ${headerValues(text, "to")[0]}`,
        `Call-ID: ${callId}`,
        "CSeq: 1 ACK",
        "Content-Length: 0",
        "",
        "",
      ].join("\r\n");
      await phone.send(enc.encode(ack), packet[1]);
      done(external, answer);
    }
  })();

  const invite = (i: number): Promise<void> => {
    const callId = `rtpbench-${i}-${Date.now()}`;
    if (srtp) phoneKeys[i] = newSrtpKey();
    const body = sdp(PHONE, ENDPOINT_PORT, i, phoneKeys[i]);
    const msg = enc.encode(
      [
        `INVITE sip:bench@${EXTERNAL}:${SIP_PORT} SIP/2.0`,
        `Via: SIP/2.0/UDP ${PHONE}:${PHONE_SIP_PORT};branch=z9hG4bK-inv-${i}-${Date.now()};rport`,
        "Max-Forwards: 70",
        `From: <sip:phone@${PHONE}>;tag=p${i}`,
        `To: <sip:bench@${EXTERNAL}>`,
        `Call-ID: ${callId}`,
        "CSeq: 1 INVITE",
        `Contact: <sip:phone@${PHONE}:${PHONE_SIP_PORT}>`,
        "Content-Type: application/sdp",
        `Content-Length: ${body.length}`,
        "",
        body,
      ].join("\r\n"),
    );
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(callId);
        reject(new Error(`call ${i} not answered within 5 s`));
      }, 5000);
      waiting.set(callId, (external, answer) => {
        clearTimeout(timer);
        waiting.delete(callId);
        if (external === undefined) {
          reject(new Error(`call ${i} refused: ${answer.slice(0, answer.indexOf("\r\n"))}`));
          return;
        }
        ports[i]!.external = external;
        if (srtp) {
          const relay = relayKey(answer);
          if (relay === undefined) {
            reject(new Error(`call ${i}: the 200 OK is not RTP/SAVP with a key: ${answer}`));
            return;
          }
          ports[i]!.srtp = { phone: hex(phoneKeys[i]!), relay };
        }
        resolve();
      });
      phone.send(msg, { transport: "udp", hostname: EXTERNAL, port: SIP_PORT }).catch(reject);
    });
  };

  const stop = async () => {
    phone.close();
    pbx.close();
    await Promise.allSettled([phoneLoop, pbxLoop]);
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
    await errLog.catch(() => {});
  };

  let exited = false;
  child.status.then(() => exited = true);
  try {
    await waitFor(fetchOptions, 15_000);
    // another SBC on the same port would answer the probe while ours failed to bind
    await sleep(500);
    if (exited) throw new Error(`edgesbc exited at start; its log: ${dir}/edgesbc${slot}.err`);
  } catch (e) {
    await stop();
    throw e;
  }

  const version = (await commandOutput(Deno.execPath(), ["--version"])).split("\n")[0] ?? "";
  const admin = async (path: string) => {
    const res = await fetch(`http://${ADMIN}${path}`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`edgesbc admin ${path}: HTTP ${res.status}`);
    return await res.json();
  };
  let checked = !srtp;
  return {
    name: `edgesbc, ${ffi ? "FFI" : "Deno"} sockets${srtp ? ", SRTP outside" : ""}`,
    version: `edgesbc (${version})`,
    pid: child.pid,
    srtp,
    async ensureCalls(n: number) {
      const started = Date.now();
      while (setUp < n) {
        const batch: Promise<void>[] = [];
        for (let k = 0; k < 50 && setUp < n; k++) batch.push(invite(setUp++));
        await Promise.all(batch);
      }
      if (Date.now() - started > 100) {
        console.error(`edgesbc: ${n} calls set up (${Date.now() - started} ms)`);
      }
      if (!checked) {
        // each call's phone leg ends SRTP at the relay, the PBX leg is plain
        const calls = await admin("/api/calls") as {
          streams: { legs: { role: string; profile: string }[] }[];
        }[];
        const legs = calls.flatMap((c) => c.streams.flatMap((st) => st.legs));
        const wrong = legs.filter((l) => l.profile !== (l.role === "external" ? "srtp" : "rtp"));
        if (legs.length !== 2 * n || wrong.length > 0) {
          throw new Error(`edgesbc: legs not SRTP outside, RTP inside: ${JSON.stringify(wrong)}`);
        }
        checked = true;
      }
      // let the relay's pumps start
      await sleep(200);
    },
    relayPorts: (i) => ports[i]!,
    ...(srtp ? { srtpFailures: async () => (await admin("/api/stats")).media.srtpFailures } : {}),
    stop,
  };

  /** The SBC answers an OPTIONS on its external SIP socket. */
  async function fetchOptions(): Promise<boolean> {
    const probe = Deno.listenDatagram({ transport: "udp", hostname: PHONE, port: 0 });
    try {
      const port = (probe.addr as Deno.NetAddr).port;
      const msg = [
        `OPTIONS sip:${EXTERNAL}:${SIP_PORT} SIP/2.0`,
        `Via: SIP/2.0/UDP ${PHONE}:${port};branch=z9hG4bK-probe-${Date.now()}`,
        "Max-Forwards: 70",
        `From: <sip:probe@${PHONE}>;tag=probe`,
        `To: <sip:${EXTERNAL}>`,
        `Call-ID: probe-${Date.now()}`,
        "CSeq: 1 OPTIONS",
        "Content-Length: 0",
        "",
        "",
      ].join("\r\n");
      await probe.send(enc.encode(msg), { transport: "udp", hostname: EXTERNAL, port: SIP_PORT });
      const reply = await Promise.race([probe.receive(), sleep(300).then(() => undefined)]);
      return reply !== undefined;
    } finally {
      probe.close();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// rtpengine, set up over the ng protocol (bencode over UDP)

type Bencode = string | number | Bencode[] | { [key: string]: Bencode };

function bencode(value: Bencode): string {
  if (typeof value === "number") return `i${Math.trunc(value)}e`;
  if (typeof value === "string") return `${enc.encode(value).length}:${value}`;
  if (Array.isArray(value)) return `l${value.map(bencode).join("")}e`;
  const keys = Object.keys(value).sort();
  return `d${keys.map((k) => bencode(k) + bencode(value[k]!)).join("")}e`;
}

/** Decodes bencode (strings as UTF-8; enough for ng replies). */
function bdecode(text: string): Bencode {
  let pos = 0;
  const next = (): Bencode => {
    const c = text[pos];
    if (c === "i") {
      const end = text.indexOf("e", pos);
      const n = Number(text.slice(pos + 1, end));
      pos = end + 1;
      return n;
    }
    if (c === "l") {
      pos++;
      const list: Bencode[] = [];
      while (text[pos] !== "e" && pos < text.length) list.push(next());
      pos++;
      return list;
    }
    if (c === "d") {
      pos++;
      const dict: { [key: string]: Bencode } = {};
      while (text[pos] !== "e" && pos < text.length) {
        const key = next() as string;
        dict[key] = next();
      }
      pos++;
      return dict;
    }
    const colon = text.indexOf(":", pos);
    const len = Number(text.slice(pos, colon));
    pos = colon + 1 + len;
    return text.slice(colon + 1, colon + 1 + len);
  };
  return next();
}

/**
 * rtpengine in userspace; `srtp`: the phone offers RTP/SAVP with its key, the offer goes on to
 * the PBX as RTP/AVP (`transport-protocol`), and the answer back to the phone is RTP/SAVP with
 * rtpengine's key: its SDES bridge.
 */
async function startRtpengine(
  dir: string,
  slot: number,
  { srtp }: { srtp: boolean },
): Promise<System> {
  const RELAY_PORTS = relayPorts(slot);
  const ngPort = NG_PORT + slot;
  const child = new Deno.Command("taskset", {
    args: [
      "-c",
      RELAY_CPU,
      "rtpengine",
      "--config-file=none",
      "--table=-1",
      `--interface=ext/${EXTERNAL}`,
      `--interface=int/${INTERNAL}`,
      `--listen-ng=127.0.0.1:${ngPort}`,
      "--foreground",
      "--log-stderr",
      "--log-level=4",
      `--port-min=${RELAY_PORTS[0]}`,
      `--port-max=${RELAY_PORTS[1]}`,
      "--timeout=3600",
      "--silent-timeout=3600",
      ...(Deno.env.get("RTPENGINE_ARGS")?.split(" ").filter((a) => a) ?? []),
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const errLog = (async () => {
    const file = await Deno.open(`${dir}/rtpengine${slot}.err`, { write: true, create: true });
    await child.stderr.pipeTo(file.writable);
  })();
  const ng = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const pending = new Map<string, (reply: { [key: string]: Bencode }) => void>();
  const loop = (async () => {
    for (;;) {
      let packet: [Uint8Array, Deno.Addr];
      try {
        packet = await ng.receive();
      } catch {
        return;
      }
      const text = dec.decode(packet[0]);
      const space = text.indexOf(" ");
      const done = pending.get(text.slice(0, space));
      if (done === undefined) continue;
      pending.delete(text.slice(0, space));
      done(bdecode(text.slice(space + 1)) as { [key: string]: Bencode });
    }
  })();
  let cookies = 0;
  const command = (msg: { [key: string]: Bencode }, ms = 2000) => {
    const cookie = `c${++cookies}`;
    return new Promise<{ [key: string]: Bencode }>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(cookie);
        reject(new Error(`ng ${msg.command} not answered`));
      }, ms);
      pending.set(cookie, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      ng.send(enc.encode(`${cookie} ${bencode(msg)}`), {
        transport: "udp",
        hostname: "127.0.0.1",
        port: ngPort,
      }).catch(reject);
    });
  };
  const ports: CallMedia[] = [];
  let setUp = 0;
  const call = async (i: number) => {
    const callId = `rtpbench-${i}`;
    const phoneKey = srtp ? newSrtpKey() : undefined;
    const offer = await command({
      command: "offer",
      "call-id": callId,
      "from-tag": `p${i}`,
      sdp: sdp(PHONE, ENDPOINT_PORT, i, phoneKey),
      direction: ["ext", "int"],
      ...(srtp ? { "transport-protocol": "RTP/AVP" } : {}),
    });
    const answer = await command({
      command: "answer",
      "call-id": callId,
      "from-tag": `p${i}`,
      "to-tag": `b${i}`,
      sdp: sdp(PBX, ENDPOINT_PORT, i),
    });
    const internal = sdpPort(String(offer.sdp ?? ""));
    const external = sdpPort(String(answer.sdp ?? ""));
    if (internal === undefined || external === undefined) {
      throw new Error(`rtpengine call ${i}: ${JSON.stringify(offer)} ${JSON.stringify(answer)}`);
    }
    ports[i] = { external, internal };
    if (phoneKey !== undefined) {
      // the PBX gets plain RTP without a key, the phone RTP/SAVP with rtpengine's own
      const relay = relayKey(String(answer.sdp));
      const toPbx = String(offer.sdp);
      if (relay === undefined || !/^m=audio \d+ RTP\/AVP /m.test(toPbx) || /a=crypto/.test(toPbx)) {
        throw new Error(`rtpengine call ${i} is no SDES bridge: ${toPbx} ${answer.sdp}`);
      }
      ports[i]!.srtp = { phone: hex(phoneKey), relay };
    }
  };
  const stop = async () => {
    ng.close();
    await loop;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
    await errLog.catch(() => {});
  };
  try {
    await waitFor(async () => {
      try {
        const r = await command({ command: "ping" }, 300);
        return r.result === "pong";
      } catch {
        return false;
      }
    }, 15_000);
  } catch (e) {
    await stop();
    throw e;
  }
  const version = (await commandOutput("rtpengine", ["--version"])).trim();
  return {
    name: srtp ? "rtpengine, SDES bridge (SRTP outside)" : "rtpengine",
    version: `rtpengine ${version.replace(/^Version:\s*/, "")} (userspace, --table=-1)`,
    pid: child.pid,
    srtp,
    async ensureCalls(n: number) {
      while (setUp < n) {
        const batch: Promise<void>[] = [];
        for (let k = 0; k < 50 && setUp < n; k++) batch.push(call(setUp++));
        await Promise.all(batch);
      }
      await sleep(200);
    },
    relayPorts: (i) => ports[i]!,
    stop,
  };
}

// ---------------------------------------------------------------------------------------------
// Report

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitFor(check: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(200);
  }
  throw new Error(`not ready within ${ms} ms`);
}

async function commandOutput(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await new Deno.Command(cmd, {
      args,
      stdout: "piped",
      stderr: "piped",
    }).output();
    return dec.decode(stdout) + dec.decode(stderr);
  } catch {
    return "";
  }
}

function machine(): string {
  const cpu = /model name\s*:\s*(.*)/.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1] ?? "?";
  const mem = Math.round(Deno.systemMemoryInfo().total / 2 ** 30);
  return `${cpu}, ${navigator.hardwareConcurrency} cores, ${mem} GiB, Linux ${Deno.osRelease()}`;
}

function formatRuns(results: SystemResult[]): string {
  const row = (r: SystemResult) => {
    const b = r.best;
    const h = r.half;
    const max = b ? `${b.pps.toLocaleString("en-US")} (${b.calls} calls)` : "—";
    const cpu = b ? b.cpuUsPerPacket.toFixed(2) : "—";
    const lat = h ? `${fmtUs(h.load.p50us)} / ${fmtUs(h.load.p99us)}` : "—";
    // SRTP rows against rtpengine's SDES bridge, plain ones against plain rtpengine
    const base = results.find((x) => x.name.startsWith("rtpengine") && x.srtp === r.srtp)?.best;
    const ratio = b && base ? (b.pps / base.pps).toFixed(2) : "—";
    return `| ${r.name} | ${max} | ${cpu} | ${lat} | ${ratio} |`;
  };
  return [
    "| system | max packets/s relayed, loss < 0.1% | CPU µs/packet at max | added latency at half load, median / p99 | ÷ rtpengine, same media |",
    "| --- | ---: | ---: | ---: | ---: |",
    ...results.map(row),
  ].join("\n");
}

function fmtUs(us: number): string {
  return us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${Math.round(us)} µs`;
}

function runTable(r: SystemResult): string {
  const failures = r.runs.some((x) => x.relaySrtpFailures !== undefined);
  return [
    `${r.name} runs:`,
    "",
    "| calls | packets/s | loss | CPU µs/packet | relay CPU | CPU 1 user / sys / softirq / idle | median / p99 latency | generator max lag | generator CPU" +
    (r.srtp ? " (of it SRTP)" : "") + (failures ? " | relay SRTP failures" : "") + " |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---:" + (failures ? " | ---:" : "") +
    " |",
    ...r.runs.map((x) => {
      const c = x.cores[Number(RELAY_CPU)];
      const core = c
        ? `${pct(c.user)} / ${pct(c.system)} / ${pct(c.softirq)} / ${pct(c.idle)}`
        : "—";
      const gen = `${pct(genLoad(x))}${r.srtp ? ` (${pct(genSrtp(x))})` : ""}`;
      return `| ${x.calls} | ${x.pps.toLocaleString("en-US")} | ${(x.loss * 100).toFixed(3)}% | ` +
        `${x.cpuUsPerPacket.toFixed(2)} | ${pct(x.cpuLoad)} | ${core} | ` +
        `${fmtUs(x.load.p50us)} / ${fmtUs(x.load.p99us)} | ${fmtUs(x.load.maxLagUs)} | ${gen} |` +
        (failures ? ` ${x.relaySrtpFailures ?? "—"} |` : "");
    }),
  ].join("\n");
}

/** What the numbers mean for edgesbc: the mechanism, not one run's figures. */
const LIMITS = `What limits edgesbc:

- **Deno sockets** (\`Deno.listenDatagram\`; the fallback without \`--allow-ffi\`, and what
  edgesbc had before the FFI backend): every datagram is one \`receive()\` and one awaited
  \`send()\` through Deno's op layer and tokio (a promise round trip each, a \`NetAddr\` and a
  buffer view per packet) in one async loop per socket, four per stream. The single JS thread
  fills its core at about a third of rtpengine's rate, and near that point latency climbs fast:
  thousands of loops take turns on one event loop.
- **FFI sockets** (rtp/packet/ffi_socket.ts, the default with \`--allow-ffi\`): per packet the kernel
  work is what rtpengine does (one recvmmsg per ready socket, one sendmmsg per batch; at 50
  packets/s per socket a batch is mostly one packet), and the JS on top is a few typed-array reads
  and writes plus the relay's latch check. strace of the main thread at 20k packets/s: sendmmsg
  about 70% and recvmmsg about 25% of syscall time. CPU per packet falls as the rate rises
  because at low rates most of it is waking the receiver on the other core (loopback delivery runs
  inside the sender's sendmmsg, and a cross-core wake-up is dear in this VM); rtpengine shows
  the same curve. \`epoll_wait\` blocks on a runtime thread (a nonblocking FFI call, about 25 µs
  per round trip); after each wake-up the relay keeps polling with a zero timeout until about
  15 µs pass without a packet, so a loaded relay rarely takes that hop. Sockets get a 4 MiB
  receive buffer and DSCP EF (IP_TOS 0xB8). IPv4 media addresses only (IPv6 uses Deno sockets).
- **The ceiling is one core**: one JS thread runs all of edgesbc, SIP included. More would take
  Workers owning partitioned port ranges; this 2-core machine, one core for the generator,
  cannot show that.`;

/** What SRTP on the phone's side costs, and why: the mechanism, not one run's figures. */
const SRTP_LIMITS = `What SRTP outside costs:

- **One transform per packet.** What the phone sends is authenticated (HMAC-SHA1, 80-bit tag) and
  decrypted (AES-128 in counter mode) before it may latch; what goes to the phone is encrypted and
  tagged (10 bytes more). The PBX's side stays plain, so every relayed packet pays exactly one
  transform, and the keys never cross: each relay makes its own key for the phone's leg.
- **edgesbc** runs it on its libcrypto backend (rtp/srtp/libcrypto_context.ts: OpenSSL's AES-128-CTR
  and SHA-1 through FFI, the RFC 3711 packet logic in TypeScript, nothing allocated per packet), two
  contexts per SRTP call. bench/srtp_bench.ts puts a protect + unprotect round trip at about 2.2 µs,
  against 13 µs for the builtin backend on node:crypto (the fallback without FFI permission) and 12 µs
  for libsrtp 2.5 through FFI. libsrtp is not used by default: Debian's libsrtp2 is built on NSS,
  whose cost per packet grows with the number of sessions the process holds (11 µs per round trip
  with 2 contexts, 44 µs with 1000, 139 µs with 4000). The bench keeps every call it set up open,
  so the SRTP row's levels below its highest (the bisection, the half-load runs) run with more SRTP
  calls open than are sending, and its half-load latency with about twice as many.
- **rtpengine** has its own SRTP code on OpenSSL's libcrypto (AES-NI), whose cost does not
  depend on the number of calls.`;

/** Ratios between the SRTP rows and the plain ones of the same run, and what a call costs. */
function srtpSummary(results: SystemResult[]): string {
  const best = (name: string) => results.find((r) => r.name === name)?.best;
  const edge = best("edgesbc, FFI sockets");
  const edgeSrtp = best("edgesbc, FFI sockets, SRTP outside");
  const engine = best("rtpengine");
  const engineSrtp = best("rtpengine, SDES bridge (SRTP outside)");
  if (!edge || !edgeSrtp || !engine || !engineSrtp) return "";
  const ratio = (a: Run, b: Run) => (a.pps / b.pps).toFixed(2);
  // a call is 100 packets/s through the relay: CPU µs per packet * 100 = CPU µs per call-second
  const perCall = (r: Run) => `${Math.round(r.cpuUsPerPacket * 100)} µs`;
  return `In this run, SRTP on the phone's side takes edgesbc (FFI sockets) to ${
    ratio(edgeSrtp, edge)
  } of its plain packet rate and rtpengine to ${ratio(engineSrtp, engine)} of its own; ` +
    `edgesbc's SRTP bridge relays ${ratio(edgeSrtp, engineSrtp)} of what rtpengine's SDES ` +
    `bridge does (plain: ${ratio(edge, engine)}). Per call, at each one's maximum: edgesbc ` +
    `spends ${perCall(edgeSrtp)} of CPU per second of an SRTP call against ${
      perCall(edge)
    } for a plain one (${edgeSrtp.calls} against ${edge.calls} calls on one core), ` +
    `rtpengine ${perCall(engineSrtp)} against ${perCall(engine)} (${engineSrtp.calls} against ` +
    `${engine.calls} calls).`;
}

function describe(results: SystemResult[], seconds: number, notes: string): string {
  const summary = srtpSummary(results);
  return [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${machine()}.`,
    `Versions: ${[...new Set(results.map((r) => r.version))].join("; ")}.`,
    "",
    formatRuns(results),
    "",
    LIMITS,
    "",
    SRTP_LIMITS,
    ...(summary ? ["", summary] : []),
    ...(notes.trim() ? ["", notes.trim()] : []),
    "",
    "How it is measured: one audio stream per call, 172-byte RTP packets (12-byte header + 160 " +
    "bytes G.711) at 50 packets/s in each direction, so a call is 100 packets/s through the " +
    `relay. The phone ends sit on ${PHONE}, the PBX ends on ${PBX}; edgesbc's calls are set up ` +
    "over SIP (INVITE/200/ACK through the SBC, the bench playing phone and PBX), rtpengine's over " +
    "its ng protocol (`offer` with `direction: [ext, int]`, then `answer`). Each run sends for " +
    `${seconds} s after 3 priming packets per endpoint (latching). Lost = not delivered, or ` +
    "delivered more than 100 ms late (a phone's jitter buffer would drop it; a relay that falls " +
    "behind only queues, and its deep socket buffers would hide that in a short run). The relay " +
    "is pinned to CPU 1 (`taskset`, all its threads), the load generator (bench/rtp_load.c: one " +
    "thread, sendmmsg/recvmmsg on one socket per side, ppoll between sends, the send time in each " +
    "payload) to CPU 0. CPU µs/packet is the relay's utime + stime from /proc/PID/stat over the " +
    "run divided by the packets it relayed; softirq work the kernel does for its packets is not " +
    "in it. Latency is from the generator's send to its receive, so it includes two loopback hops " +
    "and the generator's own wake-ups; it is measured at half the maximum rate, three runs, the " +
    "one with the median p99 shown. The ramp " +
    "multiplies the calls by 1.5 until a run loses 0.1% or more (one retry), then bisects three " +
    "times. All the relays run at once (idle unless measured) and take turns at each level, " +
    "so a neighbour's burst hits them alike: the machine is shared with other work (see the " +
    "CPU 1 columns), single runs are noisy, and a stall of the generator (its max lag) shows up " +
    "as loss.",
    "",
    "The SRTP rows: the phone offers `RTP/SAVP` with its own `a=crypto:1 " +
    'AES_CM_128_HMAC_SHA1_80` key (30 random bytes per call); edgesbc has `srtp = "mandatory"` ' +
    "on its external interface, rtpengine gets the offer with `transport-protocol: RTP/AVP`. " +
    "Each hands the PBX plain `RTP/AVP` without a key and answers the phone `RTP/SAVP` with a key " +
    "of its own, which the bench reads from the answer. The generator is then a real SRTP phone " +
    "both ways: it protects each packet it sends from the phone's end (182 bytes on the wire) " +
    "and authenticates and decrypts each one that reaches it, with the relay's key, before it " +
    "reads the payload; the PBX's end stays plain. A run stops the bench if anything reaches " +
    "the phone in clear. Its SRTP is its own AES-CM + HMAC-SHA1 on OpenSSL's libcrypto " +
    "(bench/rtp_load_srtp.h), checked byte for byte against libsrtp at start; libsrtp itself " +
    "would be the generator's bottleneck (see above). Each run gives every stream a fresh SSRC, " +
    "so no relay sees a replay. The generator's CPU column (its getrusage over the run, as a " +
    "share of its core, and in brackets the time it spent in SRTP) shows how close the other " +
    "core is to its own limit. edgesbc's relay SRTP failures come from its admin API " +
    "(`/api/stats`); before the first run the bench checks in `/api/calls` that every call's " +
    'external leg has `profile: "srtp"` and its internal leg `"rtp"`.',
    "",
    "Reproduce: `deno run -A bench/rtp_bench.ts` (needs `cc`, `taskset`, `rtpengine`, the " +
    "headers of libsrtp2-dev and libssl-dev; `--only NAME[,NAME...]` with NAME among " +
    "`edgesbc-ffi`, `edgesbc-ffi-srtp`, `edgesbc-deno`, `rtpengine`, `rtpengine-srtp` runs " +
    "some systems, `--no-docs` only prints).",
    "",
    ...results.flatMap((r) => [runTable(r), ""]),
  ].join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      only: { type: "string" },
      seconds: { type: "string", default: "5" },
      "no-docs": { type: "boolean", default: false },
      notes: { type: "string", default: "" },
    },
  });
  const seconds = Math.min(30, Math.max(1, Number(values.seconds)));
  const dir = await Deno.makeTempDir({ prefix: "edgesbc-rtp-bench-" });
  const binary = await compileLoad(dir);
  // the order of the rows in the docs
  const systems: [string, (dir: string, slot: number) => Promise<System>][] = [
    ["edgesbc-ffi", (d, slot) => startEdgesbc(d, slot, { ffi: true, srtp: false })],
    ["edgesbc-ffi-srtp", (d, slot) => startEdgesbc(d, slot, { ffi: true, srtp: true })],
    ["edgesbc-deno", (d, slot) => startEdgesbc(d, slot, { ffi: false, srtp: false })],
    ["rtpengine", (d, slot) => startRtpengine(d, slot, { srtp: false })],
    ["rtpengine-srtp", (d, slot) => startRtpengine(d, slot, { srtp: true })],
  ];
  const only = values.only?.split(",").map((n) => n.trim());
  const unknown = only?.filter((n) => !systems.some(([name]) => name === n)) ?? [];
  if (unknown.length > 0) {
    throw new TypeError(
      `Cannot run "${unknown.join(",")}": want ${systems.map(([n]) => n).join(", ")}`,
    );
  }
  const running: System[] = [];
  let results: SystemResult[] = [];
  try {
    for (const [slot, [name, start]] of systems.entries()) {
      if (only !== undefined && !only.includes(name)) continue;
      if (
        name.startsWith("rtpengine") && (await commandOutput("rtpengine", ["--version"])) === ""
      ) {
        console.error("rtpengine not installed: skipped");
        continue;
      }
      running.push(await start(dir, slot));
    }
    results = await measureAll(binary, dir, running, seconds);
  } finally {
    for (const system of running) await system.stop();
  }
  const section = describe(results, seconds, values.notes);
  console.log(section);
  if (!values["no-docs"] && results.length === systems.length) {
    // the heading sits inside the markers (bench/docs_section.ts), unless it is already above
    const text = await Deno.readTextFile(BENCHMARKS_MD).catch(() => "");
    const headed = /## RTP relay\s*<!-- rtp:begin -->/.test(text);
    await writeSection("rtp", headed ? section : `## RTP relay\n\n${section}`);
  }
  await Deno.remove(dir, { recursive: true });
}

if (import.meta.main) await main();
