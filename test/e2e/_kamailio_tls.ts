/**
 * Kamailio 5.6 as a TLS client for end-to-end tests: a stateful proxy that takes SIP over UDP on
 * one port and relays every new request over TLS to one fixed target, so a plain UDP peer (sipp)
 * can reach a TLS server (the SBC's TLS listener) through a real, independent TLS stack.
 *
 * It record-routes (double Record-Route, one per transport), so in-dialog requests from the far
 * end come back through it over TLS and leave over UDP. OPTIONS to itself is answered locally:
 * that is how `startKamailioTls()` knows it is ready.
 *
 * Kamailio runs in the foreground (`-DD -E`) with its runtime dir (`-Y`) in our temp dir. Its
 * worker processes are children of the main one; SIGTERM makes the main process stop them; the
 * SIGKILL fallback kills the main process and the workers it had, by pid.
 *
 * @module
 */

import { KEEP_FILES, timer, waitForOptionsReply } from "./_harness.ts";

export interface KamailioTlsOptions {
  /** the address both sockets bind */
  host: string;
  /** plain side: SIP over UDP */
  udpPort: number;
  /** Kamailio sends over TLS only from a TLS socket of its own, so it needs one */
  tlsPort: number;
  /** every initial request goes here over TLS */
  target: { host: string; port: number };
  /** the CA that signed the target's certificate */
  ca: string;
  /** presented to the target when it asks (mutual TLS); PEM files */
  client?: { cert: string; key: string };
  /** check the target's certificate chain against `ca`; default true (no host name check) */
  verifyServer?: boolean;
  /** SNI sent to the target */
  serverName?: string;
  /** default 10 s */
  readyTimeoutMs?: number;
}

export interface KamailioTls extends AsyncDisposable {
  readonly dir: string;
  /** stderr (the log) so far */
  log(): Promise<string>;
  /** SIGTERM, SIGKILL to it and its workers after 3 s; removes the temp dir; idempotent */
  stop(): Promise<Deno.CommandStatus>;
}

/** The `kamailio.cfg` for `options`, with its TLS settings in `tlsConfigPath`. */
export function kamailioTlsConfig(options: KamailioTlsOptions, tlsConfigPath: string): string {
  const { host, target } = options;
  return `#!KAMAILIO
debug=2
log_stderror=yes
children=1
tcp_children=1
auto_aliases=no
enable_tls=yes
listen=udp:${host}:${options.udpPort}
listen=tls:${host}:${options.tlsPort}
# outgoing TCP/TLS connections would leave from 127.0.0.1 (the route's source) otherwise
tcp_source_ipv4=${host}
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
# tm before the modules that use it (sl, rr)
loadmodule "tls.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "siputils.so"
loadmodule "maxfwd.so"
modparam("tls", "config", "${tlsConfigPath}")

request_route {
  if (!mf_process_maxfwd_header("10")) {
    sl_send_reply("483", "Too Many Hops");
    exit;
  }
  if (method == "OPTIONS" && uri == myself && !has_totag()) {
    sl_send_reply("200", "OK");
    exit;
  }
  if (has_totag()) {
    if (loose_route()) {
      t_relay();
    } else if (method == "ACK" && t_check_trans()) {
      t_relay();
    }
    exit;
  }
  if (method == "CANCEL") {
    if (t_check_trans()) t_relay();
    exit;
  }
  record_route();
  $du = "sip:${target.host}:${target.port};transport=tls";
  if (!t_relay()) sl_reply_error();
  exit;
}
`;
}

/** The tls module's config: a server domain for our TLS socket, a client domain for `target`. */
export function kamailioTlsDomains(options: KamailioTlsOptions): string {
  const { client } = options;
  const identity = client ? `certificate = ${client.cert}\nprivate_key = ${client.key}\n` : "";
  return `[server:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
${identity}ca_list = ${options.ca}

[client:default]
method = TLSv1.2+
verify_certificate = ${options.verifyServer === false ? "no" : "yes"}
require_certificate = ${options.verifyServer === false ? "no" : "yes"}
${identity}ca_list = ${options.ca}
${options.serverName ? `server_name = ${options.serverName}\n` : ""}`;
}

/** Checks the config (`kamailio -c`), starts it in the foreground and waits for an OPTIONS 200. */
export async function startKamailioTls(options: KamailioTlsOptions): Promise<KamailioTls> {
  const dir = await Deno.makeTempDir({ prefix: "edgesbc-e2e-kamailio-" });
  const configPath = `${dir}/kamailio.cfg`;
  const tlsConfigPath = `${dir}/tls.cfg`;
  const logPath = `${dir}/kamailio.log`;
  await Deno.writeTextFile(configPath, kamailioTlsConfig(options, tlsConfigPath));
  await Deno.writeTextFile(tlsConfigPath, kamailioTlsDomains(options));
  await Deno.mkdir(`${dir}/run`);
  const args = ["-f", configPath, "-Y", `${dir}/run`, "-w", dir];

  // a config error shows up here with its line, rather than as an early exit
  const check = await new Deno.Command("kamailio", {
    args: [...args, "-c"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!check.success) {
    const text = new TextDecoder().decode(check.stderr) + new TextDecoder().decode(check.stdout);
    if (!KEEP_FILES) await Deno.remove(dir, { recursive: true });
    throw new Error(`Cannot start kamailio: config check failed: ${text.trim()}`);
  }

  const child = new Deno.Command("kamailio", {
    args: [...args, "-DD", "-E"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const logFile = await Deno.open(logPath, { write: true, create: true, append: true });
  const pumps = [child.stdout, child.stderr].map(async (stream) => {
    for await (const chunk of stream) await logFile.write(chunk);
  });

  let stopped: Promise<Deno.CommandStatus> | undefined;
  let finalLog: string | undefined;
  const log = async () => finalLog ?? await Deno.readTextFile(logPath).catch(() => "");
  const stop = () =>
    stopped ??= (async () => {
      const status = await stopWithWorkers(child, 3_000);
      await Promise.allSettled(pumps);
      logFile.close();
      finalLog = await Deno.readTextFile(logPath).catch(() => "");
      if (!KEEP_FILES) await Deno.remove(dir, { recursive: true }).catch(() => {});
      return status;
    })();
  const kamailio: KamailioTls = {
    dir,
    log,
    stop,
    [Symbol.asyncDispose]: async () => void await stop(),
  };

  try {
    await waitForOptionsReply(options.host, options.udpPort, {
      timeoutMs: options.readyTimeoutMs ?? 10_000,
      exited: child.status,
    });
  } catch (error) {
    await stop();
    throw new Error(
      `Cannot start kamailio: ${error instanceof Error ? error.message : error}\n--- log ---\n${
        finalLog?.slice(-10_000)
      }`,
    );
  }
  return kamailio;
}

/** SIGTERM to the main process; after `graceMs`, SIGKILL to it and to the workers it had. */
async function stopWithWorkers(
  child: Deno.ChildProcess,
  graceMs: number,
): Promise<Deno.CommandStatus> {
  const kill = (pid: number, signal: Deno.Signal) => {
    try {
      Deno.kill(pid, signal);
    } catch {
      // already gone
    }
  };
  // read before anything dies: once the main process is gone its workers are re-parented
  const workers = await childPids(child.pid);
  kill(child.pid, "SIGTERM");
  const grace = timer(graceMs, "late" as const);
  const first = await Promise.race([child.status, grace.promise]);
  grace.clear();
  if (first === "late") {
    kill(child.pid, "SIGKILL");
    // a worker outlives a killed main process; they were alive, so their pids are still theirs
    for (const pid of workers) kill(pid, "SIGKILL");
  }
  return await child.status;
}

/** Pids whose parent is `pid`, from /proc. */
async function childPids(pid: number): Promise<number[]> {
  const pids: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`).catch(() => "");
    // the command name in parentheses may hold spaces: fields start after the last ")"
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid === pid) pids.push(Number(entry.name));
  }
  return pids;
}
