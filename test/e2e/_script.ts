/**
 * Helpers for the routing script and config import end-to-end tests, on top of `_harness.ts`:
 * configs naming a script, scripts derived from `examples/`, `main.ts` subcommands, and the admin
 * reload.
 */
import {
  ADDRESS,
  KEEP_FILES,
  type Ports,
  REPO_ROOT,
  type Sbc,
  sbcConfig,
  sleep,
  type StartSbcOptions,
  type Transport,
  withSbc,
} from "./_harness.ts";

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

/** Where the second PBX of a failover test listens (sipp options): same ports, another address. */
export function backupPbx(ports: Ports) {
  return {
    role: "pbx" as const,
    ports,
    at: {
      ip: OTHER_ADDRESS.backupPbx,
      port: ports.pbx,
      mediaPort: ports.pbxMedia,
      controlPort: ports.sbc + 6,
    },
  };
}

/** Writes `dir`/failover.ts: examples/failover.ts as it is (the pool is in the config). */
export async function failoverScript(_ports: Ports, dir: string): Promise<string> {
  const path = `${dir}/failover.ts`;
  await Deno.writeTextFile(path, await exampleScript("failover.ts"));
  return path;
}

/**
 * `scriptConfig` with a pool of two PBXs: the usual one first (priority 1), `backupPbx(ports)`
 * second (priority 2).
 */
export function failoverConfig(
  ports: Ports,
  scriptPath: string,
  options: { pbxTransport?: Transport } = {},
): string {
  const proto = options.pbxTransport ?? "udp";
  const { at } = backupPbx(ports);
  return replaceOnce(
    scriptConfig(ports, scriptPath, options),
    /^address = ".*"$/m,
    `targets = [\n  { address = "${proto}:${ADDRESS.pbx}:${ports.pbx}", priority = 1 },\n` +
      `  { address = "udp:${at.ip}:${at.port}", priority = 2 },\n]`,
  );
}

/** The bridge example with one header appended to every request it relays. */
export async function bridgeAddingHeader(line: string): Promise<string> {
  return replaceOnce(
    await exampleScript("bridge.ts"),
    "  if (KSR.tm.t_relay() < 0)",
    `  KSR.hdr.append(${JSON.stringify(line)});\n  if (KSR.tm.t_relay() < 0)`,
  );
}

// ---------------------------------------------------------------- the admin API

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

/**
 * Answers 200 to every request on udp:ip:port until closed. Stands in for a PBX while the SBC
 * starts under a script that relays the harness's readiness OPTIONS to the PBX: a sipp callee
 * would count that OPTIONS as one of its `-m` calls (and fail it), even with `-aa`.
 */
export function answerRequestsAt(ip: string, port: number): AsyncDisposable {
  const socket = Deno.listenDatagram({ transport: "udp", hostname: ip, port });
  const decoder = new TextDecoder();
  const loop = (async () => {
    for await (const [bytes, from] of socket) {
      const text = decoder.decode(bytes);
      if (/^SIP\/2\.0 /.test(text)) continue;
      const head = text.split("\r\n\r\n")[0]!.split("\r\n");
      const copied = head.filter((line) => /^(Via|From|To|Call-ID|CSeq):/i.test(line));
      const reply = ["SIP/2.0 200 OK", ...copied, "Content-Length: 0", "", ""].join("\r\n");
      await socket.send(new TextEncoder().encode(reply), from).catch(() => {});
    }
  })().catch(() => {}); // ends when the socket closes
  return {
    async [Symbol.asyncDispose]() {
      socket.close();
      await loop;
      await untilBindable(ip, port);
    },
  };
}

/**
 * Waits (at most 2 s) until `ip:port` can be bound again. Deno frees a UDP port only once the
 * receive pending at close has ended, a few event-loop turns later: a sipp started at once on the
 * same address could fail with "Address already in use".
 */
async function untilBindable(ip: string, port: number): Promise<void> {
  const until = performance.now() + 2_000;
  for (;;) {
    try {
      Deno.listenDatagram({ transport: "udp", hostname: ip, port }).close();
      return;
    } catch (error) {
      if (!(error instanceof Deno.errors.AddrInUse) || performance.now() > until) throw error;
      await sleep(10);
    }
  }
}

/**
 * `withSbc` for scripts that relay the readiness OPTIONS to the PBX: a stand-in answers it on
 * the PBX's UDP address and is gone (its port free again) before `fn` runs, so `fn` starts the
 * real (sipp) PBX.
 */
export async function withSbcPbxStandIn<T>(
  options: StartSbcOptions,
  fn: (sbc: Sbc) => Promise<T>,
): Promise<T> {
  let standIn: AsyncDisposable | undefined = answerRequestsAt(ADDRESS.pbx, options.ports.pbx);
  const close = async () => {
    const closing = standIn;
    standIn = undefined;
    await closing?.[Symbol.asyncDispose]();
  };
  try {
    return await withSbc(options, async (sbc) => {
      await close();
      return await fn(sbc);
    });
  } finally {
    await close();
  }
}

// ---------------------------------------------------------------- sipp on any address
