// What an operator reads in the log: one call.end line per call at the default level, the levels
// and formats EDGESBC_LOG and EDGESBC_LOG_FORMAT choose, every line on stderr, and a start-up
// that fails on a taken port saying which. Port blocks 45–48.
import assert from "node:assert/strict";
import { type MainResult, runMain } from "../kit/run_main.ts";
import {
  ADDRESS,
  assertAllCallsSucceeded,
  echoedAudioCall,
  type Ports,
  runSipp,
  sbcConfig,
  type SbcLaunch,
  sleep,
  startSippServer,
  usingPorts,
  withSbc,
} from "./_harness.ts";
import { tempDir, waitForLog } from "./_script.ts";

/** main.ts from source with these variables added to the environment. */
function withEnv(vars: Record<string, string>): SbcLaunch {
  return {
    program: Deno.execPath(),
    args: ["run", "-A", "main.ts"],
    env: { ...Deno.env.toObject(), ...vars },
  };
}

/** `key=value` pairs of a text call.end line. */
function fields(line: string): Record<string, string> {
  const message = line.slice(line.indexOf(": call.end ") + ": call.end ".length);
  return Object.fromEntries(
    message.split(" ").map((pair) => {
      const eq = pair.indexOf("=");
      return [pair.slice(0, eq), pair.slice(eq + 1)];
    }),
  );
}

const lines = (log: string) => log.split("\n").filter((l) => l.trim() !== "");
/** Start-up lines at info: the relay's backend, the admin URL, the listening line. */
const STARTUP = /rtp\.backend|Admin API on|listening/;

/** A phone calls "alice" through the SBC; the PBX answers 486. */
async function busyCall(ports: Ports): Promise<void> {
  await using pbx = await startSippServer({
    scenario: "uas-reject-486.xml",
    role: "pbx",
    ports,
    calls: 1,
  });
  const phone = await runSipp({
    scenario: "uac-expect-486.xml",
    role: "phone",
    ports,
    remote: `${ADDRESS.external}:${ports.sbc}`,
    calls: 1,
    args: ["-s", "alice"],
  });
  assertAllCallsSucceeded(1, { phone, PBX: await pbx.wait(5_000) });
}

Deno.test("a call with RTP both ways logs one call.end line at the default level: times, BYE side, RTP per direction", async () => {
  const ports = usingPorts(45);
  await withSbc({ ports }, async (sbc) => {
    await echoedAudioCall(ports, { phoneArgs: ["-s", "alice"] });
    const log = await waitForLog(() => sbc.logs(), /call\.end/);

    // at info: the start-up lines and the call's one line, nothing per message
    const info = lines(log).filter((l) => / INFO /.test(l) && !STARTUP.test(l));
    assert.equal(info.length, 1, log);
    assert.match(
      log,
      new RegExp(`INFO  edgesbc\\.admin: Admin API on http://127\\.0\\.0\\.1:${ports.admin}\n`),
    );
    const call = fields(info[0]!);
    assert.equal(call.from, "sipp", info[0]);
    assert.equal(call.to, "alice", info[0]);
    assert.equal(call.caller, "external", info[0]);
    assert.equal(call.ended, "bye", info[0]);
    assert.equal(call.by, "external", info[0]);
    assert.equal(call.status, "-", info[0]);
    const [start, answer, end] = [call.start, call.answer, call.end].map((t) => Date.parse(t!));
    assert.ok(start! <= answer! && answer! < end!, info[0]);
    // the phone hangs up 7.5 s after the ACK
    assert.ok(Number(call.duration) >= 7 && Number(call.duration) < 15, info[0]);
    assert.ok(Math.abs(Number(call.duration) - (end! - answer!) / 1000) < 0.002, info[0]);
    // sipp plays 236 packets of 252 bytes; the PBX echoes each one
    for (const way of ["extToInt", "intToExt"]) {
      const packets = Number(call[`${way}Packets`]);
      assert.ok(packets >= 230, `${way}: ${info[0]}`);
      assert.equal(Number(call[`${way}Bytes`]), packets * 252, `${way}: ${info[0]}`);
    }
  });
});

Deno.test("a call the PBX rejects with 486 logs one call.end line: final 486 from the internal side", async () => {
  const ports = usingPorts(46);
  await withSbc({ ports }, async (sbc) => {
    await busyCall(ports);
    const log = await waitForLog(() => sbc.logs(), /call\.end/);
    const info = lines(log).filter((l) => / INFO /.test(l) && !STARTUP.test(l));
    assert.equal(info.length, 1, log);
    const call = fields(info[0]!);
    assert.deepEqual(
      [call.ended, call.status, call.by, call.answer, call.duration, call.to],
      ["final", "486", "internal", "-", "0", "alice"],
      info[0],
    );
  });
});

Deno.test("EDGESBC_LOG=warn starts and logs nothing at info; EDGESBC_LOG_FORMAT=json writes one object per line", async () => {
  const ports = usingPorts(47);
  await withSbc({ ports, launch: withEnv({ EDGESBC_LOG: "warn" }) }, async (sbc) => {
    await busyCall(ports);
    await sleep(300);
    assert.deepEqual(lines(await sbc.logs()), []);
  });
  await withSbc({ ports, launch: withEnv({ EDGESBC_LOG_FORMAT: "json" }) }, async (sbc) => {
    await busyCall(ports);
    const log = await waitForLog(() => sbc.logs(), /call\.end/);
    const records = lines(log).map((l) => JSON.parse(l));
    for (const r of records) {
      assert.equal(typeof r.timestamp, "string");
      assert.equal(r.level, "info");
      assert.match(r.category, /^edgesbc/);
      assert.equal(typeof r.message, "string");
    }
    const admin = records.find((r) => r.category === "edgesbc.admin");
    assert.equal(admin?.message, `Admin API on http://127.0.0.1:${ports.admin}`);
    const ends = records.filter((r) => r.event === "call.end");
    assert.equal(ends.length, 1, log);
    assert.equal(ends[0].ended, "final");
    assert.equal(ends[0].status, 486);
    assert.equal(ends[0].answer, null);
    assert.equal(ends[0].extToIntPackets, 0);
    assert.match(ends[0].message, /^call\.end callId=\S+ from=sipp to=alice /);
  });
});

/** `main.ts run -c CONFIG` to its end: exit code and both streams apart. */
async function runSbcOnce(ports: Ports, env: Record<string, string> = {}): Promise<MainResult> {
  using dir = tempDir("log");
  await Deno.writeTextFile(dir.file("config.toml"), sbcConfig(ports));
  return await runMain(["run", "-c", dir.file("config.toml")], { env });
}

Deno.test("an unknown EDGESBC_LOG or EDGESBC_LOG_FORMAT stops the start with one line and exit 2", async () => {
  const ports = usingPorts(48);
  const level = await runSbcOnce(ports, { EDGESBC_LOG: "verbose" });
  assert.deepEqual(level, {
    code: 2,
    stdout: "",
    stderr: 'edgesbc: EDGESBC_LOG "verbose" is not a log level (debug, info, warn, error)\n',
  });
  const format = await runSbcOnce(ports, { EDGESBC_LOG_FORMAT: "xml" });
  assert.deepEqual(format, {
    code: 2,
    stdout: "",
    stderr: 'edgesbc: EDGESBC_LOG_FORMAT "xml" is not a log format (text, json)\n',
  });
});

Deno.test("a taken SIP or admin port stops the start with one line on stderr naming it, exit 1", async () => {
  const ports = usingPorts(48);
  const cases = [
    { proto: "udp", host: ADDRESS.internal, port: ports.sbc },
    { proto: "tcp", host: ADDRESS.external, port: ports.sbc },
    { proto: "tcp", host: ADDRESS.admin, port: ports.admin },
  ] as const;
  for (const { proto, host, port } of cases) {
    const taken = proto === "udp"
      ? Deno.listenDatagram({ transport: "udp", hostname: host, port })
      : Deno.listen({ transport: "tcp", hostname: host, port });
    try {
      const result = await runSbcOnce(ports, { EDGESBC_LOG: "error" });
      assert.equal(result.code, 1, result.stderr);
      assert.equal(result.stdout, "");
      assert.match(
        result.stderr,
        new RegExp(
          `^\\S+ FATAL edgesbc: Cannot bind ${proto}:${host.replaceAll(".", "\\.")}:${port}: ` +
            "Address already in use\n$",
        ),
      );
    } finally {
      taken.close();
    }
  }
});
