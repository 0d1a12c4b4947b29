/**
 * End-to-end harness: runs the SBC as a child process between sipp peers on loopback.
 *
 * Topology (Linux answers on all of 127/8): phone 127.0.1.10, SBC external 127.0.1.1,
 * SBC internal 127.0.2.1, PBX 127.0.2.10. Each test takes its own port block from
 * `usingPorts(n)` so a test never meets a socket left over from the previous one.
 *
 * sipp runs in the foreground without a terminal: `-nostdin`, stdin null, stdout dropped;
 * results come from the files it writes at exit (`-trace_stat` CSV, `-trace_screen`,
 * `-trace_msg`, `-trace_err`), each named explicitly so no pid-based name has to be guessed.
 */

import { REPO_ROOT } from "../kit/run_main.ts";

export { REPO_ROOT };

export const ADDRESS = {
  phone: "127.0.1.10",
  external: "127.0.1.1",
  internal: "127.0.2.1",
  pbx: "127.0.2.10",
  admin: "127.0.0.1",
} as const;

/** sipp's bundled G.711 A-law capture, 7 s of audio (Debian package sip-tester). */
export const G711A_PCAP = "/usr/share/sip-tester/g711a.pcap";

const SCENARIO_DIR = new URL("./scenarios/", import.meta.url).pathname;
/** EDGESBC_E2E_KEEP=1 keeps the temporary files of a run (configs, logs, sipp traces). */
export const KEEP_FILES = Deno.env.get("EDGESBC_E2E_KEEP") === "1";
const SIP_PORT_BASE = 15060;
const PORTS_PER_TEST = 20;
const MEDIA_PORT_BASE = 30000;
const MEDIA_PORTS_PER_TEST = 200;

/** The ports one test uses; blocks never overlap between tests. */
export interface Ports {
  /** SIP on both SBC interfaces (UDP and TCP) */
  sbc: number;
  /** SIP over TLS on the SBC's interfaces, when a test's config listens on it */
  sbcTls: number;
  phone: number;
  pbx: number;
  admin: number;
  phoneControl: number;
  pbxControl: number;
  /** sipp binds media (and -rtp_echo) from here upwards */
  phoneMedia: number;
  pbxMedia: number;
  /** the SBC's [media] ports range */
  mediaRange: readonly [number, number];
}

/** Port block `n` (0, 1, 2…): SIP base 15060 + 20n, SBC media 30000 + 200n. */
export function usingPorts(n: number): Ports {
  const base = SIP_PORT_BASE + PORTS_PER_TEST * n;
  const media = MEDIA_PORT_BASE + MEDIA_PORTS_PER_TEST * n;
  return {
    sbc: base,
    sbcTls: base + 6,
    phone: base + 1,
    pbx: base + 2,
    admin: base + 3,
    phoneControl: base + 4,
    pbxControl: base + 5,
    phoneMedia: base + 10,
    pbxMedia: base + 14,
    mediaRange: [media, media + MEDIA_PORTS_PER_TEST - 2],
  };
}

export type Transport = "udp" | "tcp";

/** The TOML config the tests run with: loopback topology, this test's ports. */
export function sbcConfig(ports: Ports, options: { pbxTransport?: Transport } = {}): string {
  const { sbc } = ports;
  return `[interfaces.external]
role = "external"
sip = ["udp:${ADDRESS.external}:${sbc}", "tcp:${ADDRESS.external}:${sbc}"]
media = "${ADDRESS.external}"

[interfaces.internal]
role = "internal"
sip = ["udp:${ADDRESS.internal}:${sbc}", "tcp:${ADDRESS.internal}:${sbc}"]
media = "${ADDRESS.internal}"

[media]
ports = [${ports.mediaRange[0]}, ${ports.mediaRange[1]}]
timeout = 60

[pbx]
address = "${options.pbxTransport ?? "udp"}:${ADDRESS.pbx}:${ports.pbx}"

# sipp PBXs take OPTIONS pings for unexpected messages: the pool tests turn them on.
[pbx.health]
interval = 0

[admin]
listen = "${ADDRESS.admin}:${ports.admin}"
`;
}

/** A running SBC. */
export interface Sbc extends AsyncDisposable {
  readonly ports: Ports;
  /** The config file it runs with (a reload re-reads it) */
  readonly configPath: string;
  /** stdout and stderr so far */
  logs(): Promise<string>;
  /** SIGTERM, SIGKILL after 3 s; idempotent */
  stop(): Promise<Deno.CommandStatus>;
  /** Sends SIGHUP (reload) */
  hangUpSignal(): void;
}

export interface StartSbcOptions {
  ports: Ports;
  /** whole config file; default `sbcConfig(ports, { pbxTransport })` */
  configToml?: string;
  pbxTransport?: Transport;
  readyTimeoutMs?: number;
  /** runs `program ...args run -c CONFIG` instead of `deno run -A main.ts run -c CONFIG` */
  launch?: SbcLaunch;
}

/** Another way to start the SBC than main.ts from source (the packed file of test/packaging). */
export interface SbcLaunch {
  program: string;
  args?: string[];
  cwd?: string;
  /** the child's whole environment (nothing is inherited) */
  env?: Record<string, string>;
}

/** Starts `main.ts run -c <tmp>/config.toml` (or `options.launch`); waits for an OPTIONS answer. */
export async function startSbc(options: StartSbcOptions): Promise<Sbc> {
  const { ports } = options;
  const dir = await Deno.makeTempDir({ prefix: "edgesbc-e2e-sbc-" });
  const configPath = `${dir}/config.toml`;
  const logPath = `${dir}/sbc.log`;
  const configToml = options.configToml ??
    sbcConfig(ports, options.pbxTransport ? { pbxTransport: options.pbxTransport } : {});
  await Deno.writeTextFile(configPath, configToml);

  const { launch } = options;
  const program = launch?.program ?? Deno.execPath();
  const child = new Deno.Command(program, {
    args: [...(launch ? launch.args ?? [] : ["run", "-A", "main.ts"]), "run", "-c", configPath],
    cwd: launch?.cwd ?? REPO_ROOT,
    ...(launch?.env && { env: launch.env, clearEnv: true }),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const log = await Deno.open(logPath, { write: true, create: true, append: true });
  // both streams into one file; pumps end when the child's pipes close
  const pumps = [child.stdout, child.stderr].map(async (stream) => {
    for await (const chunk of stream) await log.write(chunk);
  });

  let stopped: Promise<Deno.CommandStatus> | undefined;
  let finalLogs: string | undefined;
  const logs = async () => finalLogs ?? await Deno.readTextFile(logPath).catch(() => "");
  const stop = () => {
    stopped ??= (async () => {
      const status = await stopChild(child, 3_000);
      await Promise.allSettled(pumps);
      log.close();
      finalLogs = await Deno.readTextFile(logPath).catch(() => "");
      if (!KEEP_FILES) await Deno.remove(dir, { recursive: true });
      return status;
    })();
    return stopped;
  };
  const sbc: Sbc = {
    ports,
    configPath,
    logs,
    stop,
    hangUpSignal: () => child.kill("SIGHUP"),
    [Symbol.asyncDispose]: async () => void await stop(),
  };

  try {
    await waitForOptionsReply(ADDRESS.external, ports.sbc, {
      timeoutMs: options.readyTimeoutMs ?? 10_000,
      exited: child.status,
    });
  } catch (error) {
    await stop();
    throw new Error(`SBC did not become ready: ${message(error)}\n--- SBC log ---\n${finalLogs}`);
  }
  return sbc;
}

/** Runs `fn` against a fresh SBC; prints the SBC's log if `fn` throws; always stops it. */
export async function withSbc<T>(
  options: StartSbcOptions,
  fn: (sbc: Sbc) => Promise<T>,
): Promise<T> {
  const sbc = await startSbc(options);
  try {
    return await fn(sbc);
  } catch (error) {
    await sbc.stop();
    console.error(`--- SBC log (${options.ports.sbc}) ---\n${await sbc.logs()}`);
    throw error;
  } finally {
    await sbc.stop();
  }
}

async function stopChild(child: Deno.ChildProcess, graceMs: number): Promise<Deno.CommandStatus> {
  const signal = (name: Deno.Signal) => {
    try {
      child.kill(name);
    } catch {
      // already exited
    }
  };
  signal("SIGTERM");
  const grace = timer(graceMs, "timeout" as const);
  const first = await Promise.race([child.status, grace.promise]);
  grace.clear();
  if (first === "timeout") signal("SIGKILL");
  return await child.status;
}

/** Builds an OPTIONS addressed to the SBC itself (Request-URI without user). */
export function optionsRequest(host: string, port: number, from: { host: string; port: number }) {
  const id = crypto.randomUUID();
  return [
    `OPTIONS sip:${host}:${port} SIP/2.0`,
    `Via: SIP/2.0/UDP ${from.host}:${from.port};branch=z9hG4bK-${id}`,
    `From: <sip:probe@${from.host}:${from.port}>;tag=${id.slice(0, 8)}`,
    `To: <sip:${host}:${port}>`,
    `Call-ID: ${id}@${from.host}`,
    "CSeq: 1 OPTIONS",
    "Max-Forwards: 70",
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n");
}

/** An OPTIONS over a fresh TCP connection; true when answered 200. */
export async function optionsOverTcp(port: number): Promise<boolean> {
  const conn = await Deno.connect({ hostname: ADDRESS.external, port, transport: "tcp" });
  try {
    const local = conn.localAddr as Deno.NetAddr;
    await conn.write(new TextEncoder().encode(
      optionsRequest(ADDRESS.external, port, { host: local.hostname, port: local.port })
        .replace("SIP/2.0/UDP", "SIP/2.0/TCP"),
    ));
    const buf = new Uint8Array(4096);
    const n = await Promise.race([conn.read(buf), sleep(2000).then(() => null)]);
    return n !== null && new TextDecoder().decode(buf.subarray(0, n)).startsWith("SIP/2.0 200");
  } finally {
    conn.close();
  }
}

/**
 * Sends an OPTIONS over UDP every 250 ms until any response arrives.
 * Resolves with the first response's text; rejects on timeout or when `exited` settles first.
 */
export async function waitForOptionsReply(
  host: string,
  port: number,
  options: { timeoutMs: number; exited?: Promise<Deno.CommandStatus> },
): Promise<string> {
  const conn = Deno.listenDatagram({ transport: "udp", hostname: ADDRESS.phone, port: 0 });
  const local = conn.addr as Deno.NetAddr;
  const reply = conn.receive().then(([bytes]) => new TextDecoder().decode(bytes));
  reply.catch(() => {}); // rejects when the socket closes on timeout
  const deadline = Date.now() + options.timeoutMs;
  let exitedFirst = false;
  options.exited?.then(() => exitedFirst = true);
  try {
    while (Date.now() < deadline && !exitedFirst) {
      const request = optionsRequest(host, port, { host: local.hostname, port: local.port });
      await conn.send(new TextEncoder().encode(request), { transport: "udp", hostname: host, port })
        .catch(() => {}); // ICMP unreachable while the SBC is still starting
      const tick = timer(250, undefined);
      const text = await Promise.race([reply, tick.promise]);
      tick.clear();
      if (text !== undefined) return text;
    }
    throw new Error(
      exitedFirst
        ? `process exited before ${host}:${port} answered OPTIONS`
        : `no answer to OPTIONS from ${host}:${port} within ${options.timeoutMs} ms`,
    );
  } finally {
    conn.close();
  }
}

// ---------------------------------------------------------------- sipp

/** One message from sipp's `-trace_msg` log. */
export interface SippMessage {
  direction: "sent" | "received";
  transport: string;
  /** the SIP message, CRLF normalised to LF */
  text: string;
}

/** What a finished sipp run left behind. */
export interface SippResult {
  /** sipp's exit code: 0 all calls passed, 1 some failed, 97/99 other, 255/254 fatal */
  code: number;
  /** cumulative counters from the last `-trace_stat` row, e.g. stats.FailedTimeoutOnRecv */
  stats: Record<string, number>;
  successful: number;
  failed: number;
  messages: SippMessage[];
  errors: string;
  screen: string;
  stderr: string;
  /** a summary for assertion messages */
  describe(): string;
}

export interface SippOptions {
  /** file under test/e2e/scenarios/, e.g. "uac-call-honours-route-set.xml" */
  scenario: string;
  /** which peer this sipp plays: sets -i, -p, -mi, -mp, -cp from `ports` */
  role: "phone" | "pbx";
  ports: Ports;
  /** another address than the role's (a second PBX, a caller the allow list does not know) */
  at?: SippAddress;
  /** "host:port" a client sends to; servers omit it */
  remote?: string;
  /** -m: stop after this many calls */
  calls: number;
  /** -r: calls per second (clients) */
  rate?: number;
  transport?: Transport;
  /** extra sipp arguments (-lost 10, -rsa …, -d …, -rtp_echo, -s …) */
  args?: string[];
  /** sipp -recv_timeout: a call fails when a message it waits for is this late */
  recvTimeoutMs?: number;
  /** killed (and the run failed) after this long; sipp's own -timeout is a bit shorter */
  timeoutMs?: number;
  /** -trace_msg; off for runs where the log would only cost time */
  traceMessages?: boolean;
}

/** Where a sipp binds: SIP, media and control sockets. */
export interface SippAddress {
  ip: string;
  port: number;
  mediaPort: number;
  controlPort: number;
}

/** A sipp peer running in the background, usually the callee. */
export interface SippServer extends AsyncDisposable {
  /** resolves when sipp exits by itself (after `calls` calls) */
  readonly done: Promise<SippResult>;
  /** waits up to `ms` for sipp to finish by itself, then kills it */
  wait(ms: number): Promise<SippResult>;
  /** kills it now unless finished; idempotent */
  stop(): Promise<SippResult>;
}

/** Runs sipp in the foreground until it finishes `calls` calls or times out. */
export async function runSipp(options: SippOptions): Promise<SippResult> {
  const server = await startSipp(options, { waitListening: false });
  return await server.wait(options.timeoutMs ?? 30_000);
}

/** Starts sipp in the background and resolves once its SIP port listens. */
export async function startSippServer(options: SippOptions): Promise<SippServer> {
  return await startSipp(options, { waitListening: true });
}

async function startSipp(
  options: SippOptions,
  { waitListening }: { waitListening: boolean },
): Promise<SippServer> {
  const dir = await Deno.makeTempDir({ prefix: `edgesbc-e2e-sipp-${options.role}-` });
  const file = (name: string) => `${dir}/${name}`;
  const { ports, role } = options;
  const { ip, port, mediaPort, controlPort } = options.at ??
    (role === "phone"
      ? {
        ip: ADDRESS.phone,
        port: ports.phone,
        mediaPort: ports.phoneMedia,
        controlPort: ports.phoneControl,
      }
      : {
        ip: ADDRESS.pbx,
        port: ports.pbx,
        mediaPort: ports.pbxMedia,
        controlPort: ports.pbxControl,
      });
  const timeoutMs = options.timeoutMs ?? 30_000;
  const args = [
    "-sf",
    `${SCENARIO_DIR}${options.scenario}`,
    ...(options.remote ? [options.remote] : []),
    ...["-i", ip, "-p", String(port), "-bind_local"],
    ...["-mi", ip, "-mp", String(mediaPort)],
    ...["-cp", String(controlPort)],
    ...["-t", options.transport === "tcp" ? "t1" : "u1"],
    ...["-m", String(options.calls)],
    ...(options.rate ? ["-r", String(options.rate)] : []),
    // no terminal: sipp must not read keys; the screen goes to a file at exit
    "-nostdin",
    ...["-recv_timeout", String(options.recvTimeoutMs ?? 15_000)],
    // sipp's own bound, 2 s before we kill it, so it still writes its files
    ...["-timeout", `${Math.max(1, Math.floor(timeoutMs / 1000) - 2)}s`, "-timeout_error"],
    ...["-trace_stat", "-stf", file("stat.csv")],
    ...["-trace_screen", "-screen_file", file("screen.log")],
    ...["-trace_err", "-error_file", file("errors.log")],
    ...(options.traceMessages === false
      ? []
      : ["-trace_msg", "-message_file", file("messages.log")]),
    // callees answer any out-of-dialog OPTIONS (a keepalive) without counting it as a call
    ...(options.remote ? [] : ["-aa"]),
    ...(options.args ?? []),
  ];
  const child = new Deno.Command("sipp", {
    args,
    cwd: dir,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();

  let finished: Promise<SippResult> | undefined;
  const collect = (status: Deno.CommandStatus) => {
    finished ??= (async () => {
      const result = await readSippResult(dir, status, await stderr, args);
      if (!KEEP_FILES) await Deno.remove(dir, { recursive: true });
      return result;
    })();
    return finished;
  };
  const done = child.status.then(collect);
  const stop = async () => collect(await stopChild(child, 2_000));
  const wait = async (ms: number) => {
    const late = timer(ms, "late" as const);
    const first = await Promise.race([done, late.promise]);
    late.clear();
    return first === "late" ? await stop() : first;
  };
  const server: SippServer = {
    done,
    wait,
    stop,
    [Symbol.asyncDispose]: async () => void await stop(),
  };

  if (waitListening) {
    try {
      await waitUntilListening(ip, port, options.transport ?? "udp", child.status);
    } catch (error) {
      const result = await stop();
      throw new Error(
        `sipp ${options.scenario} did not start: ${message(error)}\n${result.stderr}`,
      );
    }
  }
  return server;
}

async function readSippResult(
  dir: string,
  status: Deno.CommandStatus,
  stderr: string,
  args: string[],
): Promise<SippResult> {
  const read = (name: string) => Deno.readTextFile(`${dir}/${name}`).catch(() => "");
  const [csv, screen, errors, messages] = await Promise.all([
    read("stat.csv"),
    read("screen.log"),
    read("errors.log"),
    read("messages.log"),
  ]);
  const stats = parseStatCsv(csv);
  const successful = stats.SuccessfulCall ?? 0;
  const failed = stats.FailedCall ?? 0;
  return {
    code: status.signal ? -1 : status.code,
    stats,
    successful,
    failed,
    messages: parseMessageLog(messages),
    errors,
    screen,
    stderr,
    describe: () =>
      [
        `sipp ${args.join(" ")}`,
        `exit ${status.code}${status.signal ? ` (${status.signal})` : ""}, ` +
        `successful ${successful}, failed ${failed}`,
        `nonzero counters: ${
          JSON.stringify(
            Object.fromEntries(Object.entries(stats).filter(([k, v]) => v && /^Failed/.test(k))),
          )
        }`,
        `stderr: ${stderr.trim().slice(0, 2000)}`,
        `errors: ${errors.trim().slice(0, 3000)}`,
        screenTable(screen),
      ].join("\n"),
  };
}

/** Cumulative `(C)` counters from the last row of sipp's `;`-separated statistics file. */
export function parseStatCsv(csv: string): Record<string, number> {
  const lines = csv.split("\n").filter((line) => line.trim() !== "");
  const header = lines[0]?.split(";") ?? [];
  const last = lines.length > 1 ? lines[lines.length - 1]!.split(";") : [];
  const stats: Record<string, number> = {};
  header.forEach((name, i) => {
    const match = /^(.+)\(C\)$/.exec(name);
    const value = Number(last[i]);
    if (match && Number.isFinite(value)) stats[match[1]!] = value;
  });
  return stats;
}

/** Splits sipp's `-trace_msg` log into messages; the "Unexpected" entries repeat a received one. */
export function parseMessageLog(log: string): SippMessage[] {
  const messages: SippMessage[] = [];
  for (const entry of log.split(/^-{20,}.*$/m)) {
    const match = /^\s*(UDP|TCP) message (sent|received)[^\n]*\n\n?([\s\S]*)$/.exec(entry);
    if (!match) continue;
    messages.push({
      transport: match[1]!,
      direction: match[2] as "sent" | "received",
      text: match[3]!.replace(/\r\n/g, "\n").replace(/\n+$/, "\n"),
    });
  }
  return messages;
}

/** The message counts table from the final screen, for assertion messages. */
function screenTable(screen: string): string {
  const start = screen.lastIndexOf("Messages  Retrans");
  if (start < 0) return "";
  const end = screen.indexOf("\n\n", start);
  return screen.slice(Math.max(0, screen.lastIndexOf("\n", start)), end < 0 ? undefined : end);
}

/** Received requests with this method (responses when `method` is a status code). */
export function received(result: SippResult, method: string): SippMessage[] {
  const startLine = /^\d{3}$/.test(method) ? `SIP/2.0 ${method} ` : `${method} `;
  return result.messages.filter((m) => m.direction === "received" && m.text.startsWith(startLine));
}

/** Sent requests with this method. */
export function sent(result: SippResult, method: string): SippMessage[] {
  return result.messages.filter((m) => m.direction === "sent" && m.text.startsWith(`${method} `));
}

/** Every value of a header, in order, comma-separated values kept together (no compact forms). */
export function headerValues(text: string, name: string): string[] {
  const prefix = `${name.toLowerCase()}:`;
  return text.split("\n\n")[0]!.split("\n")
    .filter((line) => line.toLowerCase().startsWith(prefix))
    .map((line) => line.slice(prefix.length).trim());
}

/**
 * Asserts each sipp run finished with exactly `calls` successful calls and none failed;
 * on failure the message describes every run, since the far end often says why.
 */
export function assertAllCallsSucceeded(calls: number, runs: Record<string, SippResult>): void {
  const bad = Object.entries(runs).filter(([, r]) =>
    r.code !== 0 || r.successful !== calls || r.failed !== 0
  );
  if (bad.length === 0) return;
  const report = Object.entries(runs).map(([who, r]) => `--- ${who} ---\n${r.describe()}`);
  throw new Error(
    `${bad.map(([who]) => who).join(", ")}: expected ${calls} successful calls\n${
      report.join("\n")
    }`,
  );
}

/**
 * One call with RTP both ways through the SBC: the phone plays sipp's G.711 capture (236 packets)
 * and hangs up 7.5 s after the ACK; the PBX answers and echoes every packet (`-rtp_echo`). Asserts
 * both ends succeeded and returns what each saw.
 */
export async function echoedAudioCall(
  ports: Ports,
  options: { phoneArgs?: string[] } = {},
): Promise<{ phone: SippResult; pbx: SippResult }> {
  await using server = await startSippServer({
    scenario: "uas-answer-audio-expect-bye.xml",
    role: "pbx",
    ports,
    calls: 1,
    args: ["-rtp_echo"],
  });
  const phone = await runSipp({
    scenario: "uac-call-plays-pcap-audio.xml",
    role: "phone",
    ports,
    remote: `${ADDRESS.external}:${ports.sbc}`,
    calls: 1,
    ...(options.phoneArgs && { args: options.phoneArgs }),
    timeoutMs: 20_000,
  });
  const pbx = await server.wait(5_000);
  assertAllCallsSucceeded(1, { phone, PBX: pbx });
  return { phone, pbx };
}

async function waitUntilListening(
  ip: string,
  port: number,
  transport: Transport,
  exited: Promise<Deno.CommandStatus>,
): Promise<void> {
  // read the kernel's socket table rather than probe the port, which could race sipp's bind
  const table = transport === "udp" ? "/proc/net/udp" : "/proc/net/tcp";
  const local = `${hexAddress(ip)}:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  let exitedFirst = false;
  exited.then(() => exitedFirst = true);
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline && !exitedFirst) {
    const rows = (await Deno.readTextFile(table)).split("\n").map((row) => row.trim().split(/\s+/));
    // TCP rows must be in LISTEN (0A); UDP rows are unconnected (07)
    if (rows.some((row) => row[1] === local && (transport === "udp" || row[3] === "0A"))) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(exitedFirst ? "sipp exited" : `${transport}:${ip}:${port} not listening`);
}

function hexAddress(ip: string): string {
  // /proc/net shows IPv4 as a little-endian 32-bit hex word
  return ip.split(".").reverse().map((b) => Number(b).toString(16).toUpperCase().padStart(2, "0"))
    .join("");
}

// ---------------------------------------------------------------- admin

/** GET http://127.0.0.1:<admin><path> and parse the JSON body. */
export async function adminGet(ports: Ports, path: string): Promise<unknown> {
  const response = await fetch(`http://${ADDRESS.admin}:${ports.admin}${path}`);
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`GET ${path}: HTTP ${response.status}`);
  }
  return await response.json();
}

// ---------------------------------------------------------------- time

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise resolving to `value` after `ms`, with a way to cancel the timer. */
export function timer<T>(ms: number, value: T): { promise: Promise<T>; clear(): void } {
  let id: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<T>((resolve) => {
    id = setTimeout(() => resolve(value), ms);
  });
  return { promise, clear: () => clearTimeout(id) };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
