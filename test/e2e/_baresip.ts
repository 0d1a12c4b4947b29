/**
 * A real SIP user agent for end-to-end tests: baresip 1.0.0 (Debian package baresip-core) run
 * headless as a child process, driven over its ctrl_tcp JSON interface.
 *
 * What it does, and why it is set up this way:
 * - No terminal and no stdin (CI has none): no UI module is loaded; `menu.so` only provides the
 *   commands (dial, hangup, uanew…) that ctrl_tcp runs. stdout and stderr go to `baresip.log`.
 * - The account is created with the `uanew` command after the control connection is up, so
 *   REGISTER_OK and every other event reach us; an account in the `accounts` file would start
 *   registering before we could listen.
 * - Audio: `aufile` plays a generated WAV tone (8 kHz mono, like G.711, so no resampling);
 *   `aubridge` is a player that plays to nowhere; the `sndfile` filter writes what was sent and
 *   received to `dump-<time>-enc.wav` / `dump-<time>-dec.wav` in the temp dir.
 * - `-s` (SIP trace) prints every SIP message in clear, even over TLS; `sipTrace()` reads them
 *   from `stdout.log` (stdout alone; `baresip.log` has both streams in arrival order).
 *
 * baresip 1.0.0 quirks a test must know:
 * - TLS listens on the `sip_listen` port + 1 (UDP and TCP on the port itself).
 * - It never verifies a TLS server: `sip_cafile` is loaded but a certificate from an unknown CA
 *   is accepted (`sip_verify_server` came in later versions). `sip_certificate` (certificate
 *   and key in one PEM) is presented both as server and as client certificate.
 * - RTP sockets and outgoing TCP/TLS connections are bound to the wildcard address, so on
 *   loopback they come from 127.0.0.1, not from `host`; SDP and Via still say `host`. RTP ranges
 *   of two peers must therefore not overlap.
 * - With `;transport=tls` in the account's URI it appends `;transport=tls` to a dialled URI;
 *   dial without it.
 *
 * @module
 */

import { BaresipCtrl, type BaresipEvent, type BaresipResponse } from "./_baresip_ctrl.ts";
import { KEEP_FILES, timer } from "./_harness.ts";
import { writeToneWav } from "./_tone.ts";

/** One SIP message from the `-s` trace (sent or received; decrypted for TLS). */
export interface TracedMessage {
  transport: string;
  /** "host:port" */
  from: string;
  to: string;
  /** CRLF normalised to LF */
  text: string;
}

/** The fields of baresip's account line (`<aor>;param=value;…`). */
export interface BaresipAccount {
  /** e.g. "sip:alice@127.0.1.1;transport=tls" (the transport also picks the Contact's) */
  aor: string;
  /** e.g. "sip:127.0.1.1:5061;transport=tls": every request goes there */
  outbound?: string;
  mediaenc?: "srtp" | "srtp-mand" | "srtp-mandf";
  /** default "auto": answer every INVITE at once */
  answermode?: "auto" | "manual" | "early";
  /** REGISTER interval in s; default 0: no REGISTER */
  regint?: number;
  /** default ["PCMA"] */
  audioCodecs?: readonly string[];
  authUser?: string;
  authPass?: string;
  /** more parameters as written, e.g. "ptime=20" */
  params?: readonly string[];
}

export interface BaresipOptions {
  /** for the temp dir and messages, e.g. "alice" */
  name: string;
  /** the address SIP listens on; also the SDP address (`net_interface`) */
  host: string;
  /** UDP and TCP; TLS on `sipPort + 1` */
  sipPort: number;
  /** ctrl_tcp listens on `host:controlPort` */
  controlPort: number;
  /** `rtp_ports`; two ports (RTP, RTCP) per call; bound on 0.0.0.0, so unique per peer */
  rtpPorts: readonly [number, number];
  account: BaresipAccount | string;
  /** PEM files; without them baresip has no TLS transport */
  tls?: { certificate: string; ca?: string };
  /** the tone the audio source plays; default 1000 Hz */
  toneHz?: number;
  /** default 30 s; silence after it */
  toneSeconds?: number;
  /** `-s`; default true */
  sipTrace?: boolean;
  /** more config lines (`key value`), or replacements for ours */
  config?: Record<string, string>;
  /** default 5 s */
  readyTimeoutMs?: number;
}

/** A running baresip. */
export interface Baresip extends AsyncDisposable {
  readonly name: string;
  /** temp dir: config, accounts, tone.wav, baresip.log, stdout.log, recordings */
  readonly dir: string;
  /** every event so far, in order */
  readonly events: readonly BaresipEvent[];
  /** runs a menu command over ctrl_tcp and resolves with its answer */
  command(name: string, params?: string): Promise<BaresipResponse>;
  /** `dial uri`; throws unless baresip accepted the command */
  dial(uri: string): Promise<void>;
  /** hangs up the current call */
  hangup(): Promise<void>;
  /** answers the current incoming call (answermode manual) */
  accept(): Promise<void>;
  /**
   * Takes the first event not taken before that `what` accepts (an event type or a predicate),
   * waiting up to `timeoutMs` (default 5 s) for it.
   */
  waitForEvent(
    what: string | ((event: BaresipEvent) => boolean),
    timeoutMs?: number,
  ): Promise<BaresipEvent>;
  /**
   * The newest `dump-<time>-dec.wav`: what the last call received (after decoding, before the
   * player). Named to the second, so a second call started within the same second overwrites
   * the first one's. Read it before `close()`, which removes the dir.
   */
  recordedWav(): Promise<string>;
  /** the newest `dump-*-enc.wav`: what the last call sent */
  sentWav(): Promise<string>;
  /** SIP messages of the `-s` trace so far */
  sipTrace(): Promise<TracedMessage[]>;
  /** stdout and stderr so far (the last 20,000 characters with `tail`) */
  log(options?: { tail?: boolean }): Promise<string>;
  /** SIGTERM, SIGKILL after 2 s, removes the temp dir; idempotent */
  close(): Promise<Deno.CommandStatus>;
}

// baresip colours each traced message: ESC[36;1m before, ESC[;m after
// deno-lint-ignore no-control-regex
const TRACE_REGEXP = /\x1b\[36;1m#\n(\w+) (\S+) -> (\S+)\n([\s\S]*?)\x1b\[;m/g;
const LOG_TAIL = 20_000;

/** The account line baresip reads: `<aor>;answermode=…;regint=…;audio_codecs=…`. */
export function accountLine(account: BaresipAccount): string {
  const params = [
    `answermode=${account.answermode ?? "auto"}`,
    `regint=${account.regint ?? 0}`,
    `audio_codecs=${(account.audioCodecs ?? ["PCMA"]).join(",")}`,
    ...(account.outbound ? [`outbound="${account.outbound}"`] : []),
    ...(account.mediaenc ? [`mediaenc=${account.mediaenc}`] : []),
    ...(account.authUser ? [`auth_user=${account.authUser}`] : []),
    ...(account.authPass ? [`auth_pass=${account.authPass}`] : []),
    ...(account.params ?? []),
  ];
  return `<${account.aor}>;${params.join(";")}`;
}

/** The `config` file: only the modules a headless test UA needs. */
export function baresipConfig(options: BaresipOptions, dir: string): string {
  const keys: Record<string, string> = {
    poll_method: "epoll",
    sip_listen: `${options.host}:${options.sipPort}`,
    // an IP here (not an interface name) is both the SDP address and the SIP bind address
    net_interface: options.host,
    ...(options.tls && { sip_certificate: options.tls.certificate }),
    ...(options.tls?.ca && { sip_cafile: options.tls.ca }),
    call_local_timeout: "120",
    call_max_calls: "4",
    audio_player: "aubridge,nowhere",
    audio_alert: "aubridge,nowhere",
    audio_source: `aufile,${dir}/tone.wav`,
    ausrc_srate: "8000",
    ausrc_channels: "1",
    auplay_srate: "8000",
    auplay_channels: "1",
    rtp_ports: `${options.rtpPorts[0]}-${options.rtpPorts[1]}`,
    rtcp_mux: "no",
    module_path: "/usr/lib/baresip/modules",
    ctrl_tcp_listen: `${options.host}:${options.controlPort}`,
    snd_path: dir,
    // menu would print a call status line ten times a second
    statmode_default: "off",
    ...options.config,
  };
  const modules = [
    "module g711.so",
    "module aufile.so",
    "module aubridge.so",
    "module sndfile.so",
    "module srtp.so",
    "module_tmp account.so",
    "module_app menu.so",
    "module_app ctrl_tcp.so",
  ];
  return [...Object.entries(keys).map(([key, value]) => `${key}\t${value}`), ...modules, ""]
    .join("\n");
}

/** Starts baresip, connects to ctrl_tcp and creates the account; throws with the log if not. */
export async function startBaresip(options: BaresipOptions): Promise<Baresip> {
  const dir = await Deno.makeTempDir({ prefix: `edgesbc-e2e-baresip-${options.name}-` });
  const logPath = `${dir}/baresip.log`;
  const stdoutPath = `${dir}/stdout.log`;
  await writeToneWav(`${dir}/tone.wav`, options.toneHz ?? 1000, {
    seconds: options.toneSeconds ?? 30,
  });
  await Deno.writeTextFile(`${dir}/config`, baresipConfig(options, dir));
  await Deno.writeTextFile(`${dir}/accounts`, ""); // created by `uanew` below

  const child = new Deno.Command("baresip", {
    args: ["-f", dir, ...(options.sipTrace === false ? [] : ["-s"])],
    cwd: dir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const logFile = await Deno.open(logPath, { write: true, create: true, append: true });
  // stdout again on its own: a stderr line can land inside a traced message in the merged log
  const stdoutFile = await Deno.open(stdoutPath, { write: true, create: true, append: true });
  const pumps = [
    (async () => {
      for await (const chunk of child.stdout) {
        await logFile.write(chunk);
        await stdoutFile.write(chunk);
      }
    })(),
    (async () => {
      for await (const chunk of child.stderr) await logFile.write(chunk);
    })(),
  ];
  let exited = false;
  child.status.then(() => exited = true);

  const ua = new BaresipCtrl(options.name, dir, child);
  let closing: Promise<Deno.CommandStatus> | undefined;
  let finalLog: string | undefined;
  let finalStdout: string | undefined;
  const readLog = async () => finalLog ?? await Deno.readTextFile(logPath).catch(() => "");
  const log = async ({ tail = false } = {}) => {
    const text = await readLog();
    return tail && text.length > LOG_TAIL ? `…${text.slice(-LOG_TAIL)}` : text;
  };
  const close = () =>
    closing ??= (async () => {
      ua.disconnect();
      const status = await stop(child, 2_000);
      await Promise.allSettled(pumps);
      logFile.close();
      stdoutFile.close();
      await ua.closed();
      finalLog = await Deno.readTextFile(logPath).catch(() => "");
      finalStdout = await Deno.readTextFile(stdoutPath).catch(() => "");
      if (!KEEP_FILES) await Deno.remove(dir, { recursive: true }).catch(() => {});
      return status;
    })();
  const newest = async (suffix: string) => {
    const names: string[] = [];
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name.startsWith("dump-") && entry.name.endsWith(suffix)) names.push(entry.name);
    }
    // names carry the start time to the second, so they sort by age
    const name = names.sort().at(-1);
    if (!name) throw new Error(`${options.name}: no ${suffix} recording in ${dir}`);
    return `${dir}/${name}`;
  };

  const baresip: Baresip = {
    name: options.name,
    dir,
    events: ua.events,
    command: (name, params) => ua.command(name, params),
    dial: async (uri) => void await ua.commandOk("dial", uri),
    hangup: async () => void await ua.commandOk("hangup"),
    accept: async () => void await ua.commandOk("accept"),
    waitForEvent: async (what, timeoutMs = 5_000) => {
      try {
        return await ua.waitForEvent(what, timeoutMs);
      } catch (error) {
        throw new Error(
          `${message(error)}\n--- ${options.name} log ---\n${await log({ tail: true })}`,
        );
      }
    },
    recordedWav: () => newest("-dec.wav"),
    sentWav: () => newest("-enc.wav"),
    sipTrace: async () =>
      parseSipTrace(finalStdout ?? await Deno.readTextFile(stdoutPath).catch(() => "")),
    log,
    close,
    [Symbol.asyncDispose]: async () => void await close(),
  };

  try {
    // ready once it says so; the log shows then whether ctrl_tcp got its port: if not, a
    // connection would reach whoever holds it
    const deadline = Date.now() + (options.readyTimeoutMs ?? 5_000);
    while (!(await readLog()).includes("baresip is ready.")) {
      if (exited) throw new Error("baresip exited");
      if (Date.now() > deadline) throw new Error("not ready in time");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const failed = /ctrl_tcp: failed to listen[^\n]*/.exec(await readLog());
    if (failed) throw new Error(failed[0]);
    if (!await ua.connect(options.host, options.controlPort)) {
      throw new Error(`cannot connect to ctrl_tcp ${options.host}:${options.controlPort}`);
    }
    const line = typeof options.account === "string"
      ? options.account
      : accountLine(options.account);
    await ua.commandOk("uanew", line);
  } catch (error) {
    await close();
    throw new Error(
      `Cannot start baresip "${options.name}": ${message(error)}\n--- log ---\n${finalLog}`,
    );
  }
  return baresip;
}

/** The SIP messages in baresip's `-s` trace (each between an ANSI colour start and reset). */
export function parseSipTrace(log: string): TracedMessage[] {
  const normalised = log.replace(/\r\n/g, "\n");
  return [...normalised.matchAll(TRACE_REGEXP)].map(([, transport, from, to, text]) => ({
    transport: transport!,
    from: from!,
    to: to!,
    text: text!.replace(/\n+$/, "\n"),
  }));
}

async function stop(child: Deno.ChildProcess, graceMs: number): Promise<Deno.CommandStatus> {
  const signal = (name: Deno.Signal) => {
    try {
      child.kill(name);
    } catch {
      // already exited
    }
  };
  signal("SIGTERM");
  const grace = timer(graceMs, "late" as const);
  const first = await Promise.race([child.status, grace.promise]);
  grace.clear();
  if (first === "late") signal("SIGKILL");
  return await child.status;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
