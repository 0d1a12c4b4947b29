// End to end: routing scripts (examples/*.ts and variants) carrying calls between sipp peers,
// hot reload under load, and scripts that fail.
import assert from "node:assert/strict";
import { runMain } from "../kit/run_main.ts";
import {
  ADDRESS,
  assertAllCallsSucceeded,
  headerValues,
  type Ports,
  received,
  runSipp,
  type SippResult,
  sleep,
  startSippServer,
  usingPorts,
  withSbc,
} from "./_harness.ts";
import {
  backupPbx,
  bridgeAddingHeader,
  exampleScript,
  failoverConfig,
  failoverScript,
  OTHER_ADDRESS,
  postReload,
  replaceOnce,
  scriptConfig,
  tempDir,
  waitForLog,
  withSbcPbxStandIn,
} from "./_script.ts";

const phoneToSbc = (ports: Ports) => `${ADDRESS.external}:${ports.sbc}`;
/** The PBX scenario for answered calls: route set checked, X-Internal-* in 180/200, 1 s linger. */
const PBX_ANSWERS = "uas-answer-leaks-internal-headers.xml";
const PHONE_CALLS = "uac-call-honours-route-set.xml";

function callIds(result: SippResult, method: string): Set<string> {
  return new Set(received(result, method).map(({ text }) => headerValues(text, "Call-ID")[0]!));
}

/** A caller on another external address (same ports as the harness phone). */
function phoneAt(ip: string, ports: Ports) {
  return {
    role: "phone" as const,
    ports,
    at: { ip, port: ports.phone, mediaPort: ports.phoneMedia, controlPort: ports.sbc + 7 },
    remote: phoneToSbc(ports),
  };
}

Deno.test("a routing script that does not compile fails check and startup with its file:line", async () => {
  const ports = usingPorts(39);
  using dir = tempDir("script-startup");
  const broken = replaceOnce(
    await exampleScript("bridge.ts"),
    "const ALLOW",
    "const = ;\nconst ALLOW",
  );
  const line = broken.split("\n").findIndex((l) => l === "const = ;") + 1;
  await Deno.writeTextFile(dir.file("route.ts"), broken);
  // relative to the config file, not to the working directory (the repository root)
  await Deno.writeTextFile(
    dir.file("edgesbc.toml"),
    scriptConfig(ports, "route.ts"),
  );
  const config = dir.file("edgesbc.toml");
  const where = `${dir.file("route.ts")}:${line}:`;
  const checked = await runMain(["check", "-c", config]);
  assert.notEqual(checked.code, 0, `check -c accepted a broken script:\n${checked.stdout}`);
  assert.ok(checked.stderr.includes(where), `no ${where} in:\n${checked.stderr}`);
  const run = await runMain(["run", "-c", config], { timeoutMs: 15_000 });
  assert.notEqual(run.code, 0, `the SBC started with a broken script:\n${run.stdout}${run.stderr}`);
  const output = run.stdout + run.stderr;
  assert.ok(output.includes(where), `no ${where} in:\n${output}`);
});

Deno.test("examples/bridge.ts carries calls both ways like the built-in pipeline", async () => {
  const ports = usingPorts(31);
  const calls = 10;
  const scriptPath = new URL("../../examples/bridge.ts", import.meta.url).pathname;
  await withSbc({ ports, configToml: scriptConfig(ports, scriptPath) }, async () => {
    await using pbx = await startSippServer({ scenario: PBX_ANSWERS, role: "pbx", ports, calls });
    const phone = await runSipp({
      scenario: PHONE_CALLS,
      role: "phone",
      ports,
      remote: phoneToSbc(ports),
      calls,
      rate: 20,
    });
    const callee = await pbx.wait(15_000);
    assertAllCallsSucceeded(calls, { phone, PBX: callee });
    assert.equal(callIds(callee, "BYE").size, calls);

    // and from the PBX to the phone, the Request-URI naming the phone (topology hidden outside:
    // the phone sees one Record-Route entry)
    await using answering = await startSippServer({
      scenario: "uas-answer-honours-hidden-route-set.xml",
      role: "phone",
      ports,
      calls: 1,
    });
    const fromPbx = await runSipp({
      scenario: PHONE_CALLS,
      role: "pbx",
      ports,
      remote: `${ADDRESS.phone}:${ports.phone}`,
      calls: 1,
      args: ["-rsa", `${ADDRESS.internal}:${ports.sbc}`, "-s", "phone"],
    });
    const phoneSide = await answering.wait(15_000);
    assertAllCallsSucceeded(1, { PBX: fromPbx, phone: phoneSide });
  });
});

Deno.test("examples/headers.ts asserts the caller's identity to the PBX and hides X-Internal-*", async () => {
  const ports = usingPorts(32);
  const calls = 5;
  const scriptPath = new URL("../../examples/headers.ts", import.meta.url).pathname;
  // this script relays the readiness OPTIONS to the PBX
  await withSbcPbxStandIn({ ports, configToml: scriptConfig(ports, scriptPath) }, async () => {
    await using pbx = await startSippServer({ scenario: PBX_ANSWERS, role: "pbx", ports, calls });
    const phone = await runSipp({
      scenario: "uac-call-forges-identity.xml",
      role: "phone",
      ports,
      remote: phoneToSbc(ports),
      calls,
      rate: 20,
    });
    const callee = await pbx.wait(15_000);
    assertAllCallsSucceeded(calls, { phone, PBX: callee });

    // the forged identity is gone; one built from the From URI replaces it
    const invites = received(callee, "INVITE");
    assert.equal(invites.length, calls);
    for (const { text } of invites) {
      assert.deepEqual(headerValues(text, "P-Asserted-Identity"), [`<sip:sipp@${ADDRESS.phone}>`]);
    }
    // the PBX's answers lost their X-Internal-* on the way out
    const answers = [...received(phone, "180"), ...received(phone, "200")];
    assert.ok(answers.length >= 2 * calls, phone.describe());
    for (const { text } of answers) assert.doesNotMatch(text, /^X-Internal-/im, text);
    // while the PBX did send them
    assert.ok(
      callee.messages.some((m) => m.direction === "sent" && /^X-Internal-Trunk:/m.test(m.text)),
    );
  });
});

Deno.test("examples/allow_list.ts lets a listed caller through and answers others 403", async () => {
  const ports = usingPorts(33);
  const scriptPath = new URL("../../examples/allow_list.ts", import.meta.url).pathname;
  await withSbc({ ports, configToml: scriptConfig(ports, scriptPath) }, async (sbc) => {
    await using pbx = await startSippServer({
      scenario: PBX_ANSWERS,
      role: "pbx",
      ports,
      calls: 2,
    });
    const allowed = await runSipp({
      ...phoneAt(OTHER_ADDRESS.allowedPhone, ports),
      scenario: PHONE_CALLS,
      calls: 2,
      rate: 20,
    });
    const stranger = await runSipp({
      ...phoneAt(OTHER_ADDRESS.strangerPhone, ports),
      scenario: "uac-expect-403.xml",
      calls: 2,
      rate: 20,
    });
    const callee = await pbx.wait(15_000);
    assertAllCallsSucceeded(2, { allowed, stranger, PBX: callee });
    // only the listed caller's calls reached the PBX
    const fromAllowed = callIds(allowed, "200");
    assert.deepEqual(callIds(callee, "INVITE"), fromAllowed);
    assert.equal(callIds(stranger, "403").size, 2);
    const log = await waitForLog(() => sbc.logs(), /Refusing INVITE from 127\.0\.1\.11/);
    assert.match(log, /Refusing INVITE from 127\.0\.1\.11/);
  });
});

/** One call through failover.ts that must end up answered by the backup PBX. */
async function assertFailsOverToBackup(
  ports: Ports,
  options: { recvTimeoutMs?: number; timeoutMs?: number } = {},
): Promise<{ phone: SippResult; backup: SippResult }> {
  await using backup = await startSippServer({
    ...backupPbx(ports),
    scenario: PBX_ANSWERS,
    calls: 1,
    timeoutMs: options.timeoutMs ?? 30_000,
  });
  const phone = await runSipp({
    scenario: PHONE_CALLS,
    role: "phone",
    ports,
    remote: phoneToSbc(ports),
    calls: 1,
    ...options,
  });
  const second = await backup.wait(10_000);
  assertAllCallsSucceeded(1, { phone, "backup PBX": second });
  const [invite] = received(second, "INVITE");
  assert.ok(invite);
  assert.match(headerValues(invite.text, "Via")[0] ?? "", /^SIP\/2\.0\/UDP 127\.0\.2\.1:/i);
  // the caller never heard of the first PBX's failure
  assert.deepEqual(
    phone.messages.filter((m) => m.direction === "received").map((m) => m.text.split("\n")[0])
      .filter((line) => /^SIP\/2\.0 [3-6]/.test(line!)),
    [],
  );
  return { phone, backup: second };
}

Deno.test("examples/failover.ts tries the backup PBX when the first answers 503", async () => {
  const ports = usingPorts(34);
  using dir = tempDir("failover-503");
  const script = await failoverScript(ports, dir.path);
  await withSbcPbxStandIn({ ports, configToml: failoverConfig(ports, script) }, async (sbc) => {
    await using first = await startSippServer({
      scenario: "uas-reject-503.xml",
      role: "pbx",
      ports,
      calls: 1,
    });
    await assertFailsOverToBackup(ports);
    const primary = await first.wait(5_000);
    assertAllCallsSucceeded(1, { "first PBX": primary });
    assert.match(await sbc.logs(), /PBX failed with 503, trying sip:127\.0\.2\.11:/);
  });
});

Deno.test("examples/failover.ts tries the backup PBX when the first does not answer within its t_set_fr", async () => {
  const ports = usingPorts(35);
  using dir = tempDir("failover-silent");
  const script = await failoverScript(ports, dir.path);
  await withSbcPbxStandIn({ ports, configToml: failoverConfig(ports, script) }, async (sbc) => {
    // the first PBX takes the INVITE and says nothing: the script's t_set_fr gives it 2 s
    await using first = await startSippServer({
      scenario: "uas-receive-invite-never-answer.xml",
      role: "pbx",
      ports,
      calls: 1,
      timeoutMs: 60_000,
    });
    const started = Date.now();
    await assertFailsOverToBackup(ports, { recvTimeoutMs: 45_000, timeoutMs: 50_000 });
    const elapsed = Date.now() - started;
    assert.ok(elapsed > 1_900 && elapsed < 8_000, `failed over after ${elapsed} ms`);
    assert.match(await sbc.logs(), /PBX failed with 408, trying sip:127\.0\.2\.11:/);
    const primary = await first.stop();
    assert.ok(received(primary, "INVITE").length >= 1, primary.describe());
  });
});

Deno.test("examples/failover.ts tries the backup PBX when the first refuses the TCP connection", async () => {
  const ports = usingPorts(36);
  using dir = tempDir("failover-down");
  const script = await failoverScript(ports, dir.path);
  // nothing listens on the first PBX's TCP port: the send fails at once
  const config = failoverConfig(ports, script, { pbxTransport: "tcp" });
  await withSbc({ ports, configToml: config }, async (sbc) => {
    const started = Date.now();
    await assertFailsOverToBackup(ports);
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 5_000, `failed over after ${elapsed} ms`);
    assert.match(await sbc.logs(), /PBX failed with 408, trying sip:127\.0\.2\.11:/);
  });
});

Deno.test("a script reloaded during 200 calls routes new calls at once and loses none; a broken one is refused", async () => {
  const ports = usingPorts(37);
  using dir = tempDir("script-reload");
  const scriptPath = dir.file("route.ts");
  const scriptA = await bridgeAddingHeader("X-Route: a");
  const scriptB = await bridgeAddingHeader("X-Route: b");
  const broken = replaceOnce(scriptB, "const ALLOW", "const = ;\nconst ALLOW");
  const brokenLine = broken.split("\n").findIndex((l) => l === "const = ;") + 1;
  await Deno.writeTextFile(scriptPath, scriptA);
  const calls = 200;
  const after = 5;

  await withSbc({ ports, configToml: scriptConfig(ports, scriptPath) }, async (sbc) => {
    await using pbx = await startSippServer({
      scenario: PBX_ANSWERS,
      role: "pbx",
      ports,
      calls: calls + after,
      timeoutMs: 60_000,
    });
    const phoneRun = runSipp({
      scenario: PHONE_CALLS,
      role: "phone",
      ports,
      remote: phoneToSbc(ports),
      calls,
      rate: 20,
      timeoutMs: 40_000,
    });
    await sleep(3_000);
    await Deno.writeTextFile(scriptPath, scriptB);
    const reload = await runMain(["ctl", "reload", "--admin", `${ADDRESS.admin}:${ports.admin}`]);
    assert.equal(reload.code, 0, reload.stdout + reload.stderr);
    assert.match(reload.stdout, /loaded/);

    await sleep(2_000);
    await Deno.writeTextFile(scriptPath, broken);
    const refused = await postReload(ports);
    assert.equal(refused.status, 422, JSON.stringify(refused.body));
    assert.equal(refused.body.ok, false);
    assert.ok(
      refused.body.message?.includes(`${scriptPath}:${brokenLine}:`),
      `no ${scriptPath}:${brokenLine}: in ${refused.body.message}`,
    );

    const phone = await phoneRun;
    assertAllCallsSucceeded(calls, { phone });
    // B still routes after the refused reload
    const later = await runSipp({
      scenario: PHONE_CALLS,
      role: "phone",
      ports,
      remote: phoneToSbc(ports),
      calls: after,
    });
    const callee = await pbx.wait(15_000);
    assertAllCallsSucceeded(after, { later });
    assertAllCallsSucceeded(calls + after, { PBX: callee });

    // in arrival order: A's calls, then only B's, each INVITE marked once
    const routes = received(callee, "INVITE").map(({ text }) => headerValues(text, "X-Route"));
    assert.equal(routes.length, calls + after);
    const marks = routes.map((values) => values.join(",")).join("");
    assert.match(marks, /^a+b+$/, `X-Route of the INVITEs in order: ${marks}`);
    const bCount = marks.length - marks.indexOf("b");
    // B took over about 3 s into a 10 s run: A kept well under the whole run
    assert.ok(bCount > after + 50, `only ${bCount} calls routed by B`);
    const laterIds = callIds(later, "200");
    for (const { text } of received(callee, "INVITE")) {
      if (laterIds.has(headerValues(text, "Call-ID")[0]!)) {
        assert.deepEqual(headerValues(text, "X-Route"), ["b"]);
      }
    }
    const log = await sbc.logs();
    assert.match(log, new RegExp(`Cannot reload routing script.*route\\.ts:${brokenLine}:`));
  });
});

Deno.test("a script that throws, returns without deciding or misuses KSR answers 500 and the next call goes through", async () => {
  const ports = usingPorts(38);
  using dir = tempDir("script-fails");
  const scriptPath = dir.file("route.ts");
  const prelude = [
    `  const user = KSR.pv.get("$rU");`,
    `  if (user === "boom") throw new Error("boom");`,
    `  if (user === "garbage") return { route: "nowhere" } as unknown as void;`,
    `  if (user === "badarg") {`,
    `    KSR.sl.send_reply("x");`,
    `    return;`,
    `  }`,
    `  if (user === "rejects") return Promise.reject(new Error("async boom")) as unknown as void;`,
  ].join("\n");
  const script = replaceOnce(
    await exampleScript("bridge.ts"),
    "export function ksr_request_route(): void {\n",
    `export function ksr_request_route(): void {\n${prelude}\n`,
  );
  const boomLine = script.split("\n").findIndex((l) => l.includes(`throw new Error("boom")`)) + 1;
  await Deno.writeTextFile(scriptPath, script);

  await withSbc({ ports, configToml: scriptConfig(ports, scriptPath) }, async (sbc) => {
    const fail = (user: string) =>
      runSipp({
        scenario: "uac-expect-500.xml",
        role: "phone",
        ports,
        remote: phoneToSbc(ports),
        calls: 1,
        args: ["-s", user],
      });
    const results: Record<string, SippResult> = {};
    const logLines: Record<string, string[]> = {};
    for (const user of ["boom", "garbage", "badarg", "rejects"]) {
      const before = (await sbc.logs()).split("\n").length - 1;
      results[user] = await fail(user);
      await sleep(100);
      logLines[user] = (await sbc.logs()).split("\n").slice(before).filter((l) => l.trim());
    }
    assertAllCallsSucceeded(1, results);
    // then a normal call completes
    await using pbx = await startSippServer({
      scenario: PBX_ANSWERS,
      role: "pbx",
      ports,
      calls: 1,
    });
    const phone = await runSipp({
      scenario: PHONE_CALLS,
      role: "phone",
      ports,
      remote: phoneToSbc(ports),
      calls: 1,
      args: ["-s", "alice"],
    });
    const callee = await pbx.wait(15_000);
    assertAllCallsSucceeded(1, { phone, PBX: callee });

    const report = JSON.stringify(logLines, null, 2);
    const errors = (user: string) => logLines[user]!.filter((l) => / ERROR /.test(l));
    const noDecision = /ksr_request_route neither relayed, answered nor dropped INVITE /;
    // one line with the error and its script position
    assert.equal(errors("boom").length, 1, report);
    assert.match(
      errors("boom")[0]!,
      new RegExp(`route\\.ts:${boomLine}:\\d+" failed in ksr_request_route: boom`),
    );
    assert.equal(errors("rejects").length, 1, report);
    assert.match(
      errors("rejects")[0]!,
      /route\.ts:\d+:\d+" failed in ksr_request_route: async boom/,
    );
    // a route that decides nothing is named, whatever it returned
    assert.equal(errors("garbage").length, 1, report);
    assert.match(errors("garbage")[0]!, noDecision);
    // the misused function is named with what was wrong, then the missing decision
    assert.equal(errors("badarg").length, 2, report);
    assert.match(errors("badarg")[0]!, /KSR\.sl\.send_reply\(\) failed: .*must be an integer/);
    assert.match(errors("badarg")[1]!, noDecision);
    for (const [user, result] of Object.entries(results)) {
      const [answer] = received(result, "500");
      assert.ok(answer, `${user}: ${result.describe()}`);
    }
  });
});
