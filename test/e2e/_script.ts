/**
 * Helpers for the routing script and config import end-to-end tests, on top of `_harness.ts`:
 * configs naming a script, scripts derived from `examples/`, `main.ts` subcommands, the admin
 * reload, and sipp peers on addresses other than the harness's fixed phone and PBX.
 */
import {
  ADDRESS,
  parseMessageLog,
  parseStatCsv,
  type Ports,
  type Sbc,
  sbcConfig,
  type SippResult,
  type StartSbcOptions,
  type Transport,
  withSbc,
} from "./_harness.ts";

const REPO_ROOT = new URL("../../", import.meta.url).pathname;
const SCENARIO_DIR = new URL("./scenarios/", import.meta.url).pathname;
const KEEP_FILES = Deno.env.get("EDGESBC_E2E_KEEP") === "1";

/** A second PBX (failover target) and callers on other external addresses. */
export const OTHER_ADDRESS = {
  backupPbx: "127.0.2.11",
  /** listed in examples/allow_list.ts */
  allowedPhone: "127.0.1.2",
  /** not listed anywhere */
  strangerPhone: "127.0.1.11",
} as const;

/** A temporary directory removed by `using`; kept with EDGESBC_E2E_KEEP=1. */
export interface TempDir extends Disposable {
  readonly path: string;
  file(name: string): string;
}

export function tempDir(prefix: string): TempDir {
  const path = Deno.makeTempDirSync({ prefix: `edgesbc-e2e-${prefix}-` });
  return {
    path,
    file: (name) => `${path}/${name}`,
    [Symbol.dispose]: () => {
      if (!KEEP_FILES) Deno.removeSync(path, { recursive: true });
    },
  };
}

/** The harness's loopback config plus `[routing] script` (a relative path is the config file's). */
export function scriptConfig(
  ports: Ports,
  scriptPath: string,
  options: { pbxTransport?: Transport } = {},
): string {
  return `${sbcConfig(ports, options)}\n[routing]\nscript = ${JSON.stringify(scriptPath)}\n`;
}

/** The text of `examples/<name>`. */
export function exampleScript(name: string): Promise<string> {
  return Deno.readTextFile(`${REPO_ROOT}examples/${name}`);
}

/** Replaces `search` in `text`, failing loudly when it is not there (the example changed). */
export function replaceOnce(text: string, search: string | RegExp, replacement: string): string {
  const found = typeof search === "string" ? text.includes(search) : search.test(text);
  if (!found) throw new Error(`script text has no ${search}`);
  return text.replace(search, replacement);
}

/** The bridge example with one header appended to every request it relays. */
export async function bridgeAddingHeader(line: string): Promise<string> {
  return replaceOnce(
    await exampleScript("bridge.ts"),
    "  if (KSR.tm.t_relay() < 0)",
    `  KSR.hdr.append(${JSON.stringify(line)});\n  if (KSR.tm.t_relay() < 0)`,
  );
}

// ---------------------------------------------------------------- main.ts subcommands

export interface MainResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `main.ts <args>` to completion (bounded) from the repository root. */
export async function runMain(args: string[], timeoutMs = 20_000): Promise<MainResult> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", ...args],
    cwd: REPO_ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: text(output.stdout), stderr: text(output.stderr) };
}

/** `POST /api/reload` on the test's admin port: the HTTP status and the JSON body. */
export async function postReload(
  ports: Ports,
): Promise<{ status: number; body: { ok?: boolean; message?: string } }> {
  const response = await fetch(`http://${ADDRESS.admin}:${ports.admin}/api/reload`, {
    method: "POST",
    signal: AbortSignal.timeout(5_000),
  });
  return { status: response.status, body: await response.json() };
}

/** Polls the SBC log until `pattern` matches; returns the log. */
export async function waitForLog(
  logs: () => Promise<string>,
  pattern: RegExp,
  timeoutMs = 3_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await logs();
    if (pattern.test(text) || Date.now() > deadline) return text;
    await sleep(50);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Answers 200 to every request on udp:ip:port until closed. Stands in for a PBX while the SBC
 * starts under a script that relays the harness's readiness OPTIONS to the PBX: a sipp callee
 * would count that OPTIONS as one of its `-m` calls (and fail it), even with `-aa`.
 */
export function answerRequestsAt(ip: string, port: number): Disposable {
  const socket = Deno.listenDatagram({ transport: "udp", hostname: ip, port });
  const decoder = new TextDecoder();
  (async () => {
    for await (const [bytes, from] of socket) {
      const text = decoder.decode(bytes);
      if (/^SIP\/2\.0 /.test(text)) continue;
      const head = text.split("\r\n\r\n")[0]!.split("\r\n");
      const copied = head.filter((line) => /^(Via|From|To|Call-ID|CSeq):/i.test(line));
      const reply = ["SIP/2.0 200 OK", ...copied, "Content-Length: 0", "", ""].join("\r\n");
      await socket.send(new TextEncoder().encode(reply), from).catch(() => {});
    }
  })().catch(() => {}); // ends when the socket closes
  return { [Symbol.dispose]: () => socket.close() };
}

/**
 * `withSbc` for scripts that relay the readiness OPTIONS to the PBX: a stand-in answers it on
 * the PBX's UDP address and is gone before `fn` runs, so `fn` starts the real (sipp) PBX.
 */
export async function withSbcPbxStandIn<T>(
  options: StartSbcOptions,
  fn: (sbc: Sbc) => Promise<T>,
): Promise<T> {
  let standIn: Disposable | undefined = answerRequestsAt(ADDRESS.pbx, options.ports.pbx);
  const close = () => {
    standIn?.[Symbol.dispose]();
    standIn = undefined;
  };
  try {
    return await withSbc(options, async (sbc) => {
      close();
      return await fn(sbc);
    });
  } finally {
    close();
  }
}

// ---------------------------------------------------------------- sipp on any address

export interface SippAtOptions {
  /** file under test/e2e/scenarios/ */
  scenario: string;
  ip: string;
  /** SIP port; media binds at `port + 10`, control at `port + 4` unless given */
  port: number;
  mediaPort?: number;
  controlPort?: number;
  /** "host:port" for a client; servers omit it */
  remote?: string;
  calls: number;
  rate?: number;
  transport?: Transport;
  args?: string[];
  recvTimeoutMs?: number;
  timeoutMs?: number;
}

/** A sipp started by `startSippAt`. */
export interface SippPeer extends AsyncDisposable {
  readonly done: Promise<SippResult>;
  wait(ms: number): Promise<SippResult>;
  stop(): Promise<SippResult>;
}

/**
 * Like the harness's sipp runs, for a peer on another address (a second PBX, a caller the
 * allow list does not know): same files and result shape. Servers resolve once listening.
 */
export async function startSippAt(options: SippAtOptions): Promise<SippPeer> {
  const dir = await Deno.makeTempDir({ prefix: "edgesbc-e2e-sipp-at-" });
  const file = (name: string) => `${dir}/${name}`;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const args = [
    "-sf",
    `${SCENARIO_DIR}${options.scenario}`,
    ...(options.remote ? [options.remote] : []),
    ...["-i", options.ip, "-p", String(options.port), "-bind_local"],
    ...["-mi", options.ip, "-mp", String(options.mediaPort ?? options.port + 10)],
    ...["-cp", String(options.controlPort ?? options.port + 4)],
    ...["-t", options.transport === "tcp" ? "t1" : "u1"],
    ...["-m", String(options.calls)],
    ...(options.rate ? ["-r", String(options.rate)] : []),
    "-nostdin",
    ...["-recv_timeout", String(options.recvTimeoutMs ?? 15_000)],
    ...["-timeout", `${Math.max(1, Math.floor(timeoutMs / 1000) - 2)}s`, "-timeout_error"],
    ...["-trace_stat", "-stf", file("stat.csv")],
    ...["-trace_screen", "-screen_file", file("screen.log")],
    ...["-trace_err", "-error_file", file("errors.log")],
    ...["-trace_msg", "-message_file", file("messages.log")],
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
      const read = (name: string) => Deno.readTextFile(file(name)).catch(() => "");
      const [csv, screen, errors, log] = await Promise.all(
        ["stat.csv", "screen.log", "errors.log", "messages.log"].map(read),
      );
      const stats = parseStatCsv(csv!);
      const result: SippResult = {
        code: status.signal ? -1 : status.code,
        stats,
        successful: stats.SuccessfulCall ?? 0,
        failed: stats.FailedCall ?? 0,
        messages: parseMessageLog(log!),
        errors: errors!,
        screen: screen!,
        stderr: await stderr,
        describe: () =>
          [
            `sipp ${args.join(" ")}`,
            `exit ${status.code}${status.signal ? ` (${status.signal})` : ""}, ` +
            `successful ${stats.SuccessfulCall ?? 0}, failed ${stats.FailedCall ?? 0}`,
            `errors: ${errors!.trim().slice(0, 3000)}`,
          ].join("\n"),
      };
      if (!KEEP_FILES) await Deno.remove(dir, { recursive: true });
      return result;
    })();
    return finished;
  };
  const done = child.status.then(collect);
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already exited
    }
    const late = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // already exited
      }
    }, 2_000);
    const result = await done;
    clearTimeout(late);
    return result;
  };
  const wait = async (ms: number) => {
    let id: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => id = setTimeout(() => resolve("late"), ms));
    const first = await Promise.race([done, late]);
    clearTimeout(id);
    return first === "late" ? await stop() : first;
  };
  const peer: SippPeer = { done, wait, stop, [Symbol.asyncDispose]: async () => void await stop() };

  if (!options.remote) {
    try {
      await waitUntilBound(options.ip, options.port, options.transport ?? "udp", child.status);
    } catch (error) {
      const result = await stop();
      throw new Error(`sipp ${options.scenario} did not start: ${error}\n${result.stderr}`);
    }
  }
  return peer;
}

/** Runs a client sipp on any address to completion. */
export async function runSippAt(options: SippAtOptions): Promise<SippResult> {
  const peer = await startSippAt(options);
  return await peer.wait(options.timeoutMs ?? 30_000);
}

async function waitUntilBound(
  ip: string,
  port: number,
  transport: Transport,
  exited: Promise<Deno.CommandStatus>,
): Promise<void> {
  const table = transport === "udp" ? "/proc/net/udp" : "/proc/net/tcp";
  const hexIp = ip.split(".").reverse()
    .map((b) => Number(b).toString(16).toUpperCase().padStart(2, "0")).join("");
  const local = `${hexIp}:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  let exitedFirst = false;
  exited.then(() => exitedFirst = true);
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline && !exitedFirst) {
    const rows = (await Deno.readTextFile(table)).split("\n").map((row) => row.trim().split(/\s+/));
    if (rows.some((row) => row[1] === local && (transport === "udp" || row[3] === "0A"))) return;
    await sleep(50);
  }
  throw new Error(exitedFirst ? "sipp exited" : `${transport}:${ip}:${port} not listening`);
}
