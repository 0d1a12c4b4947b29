// The PBX side stays up (issue "The PBX side stays up", part 1 and 3): a pool of two PBXs with
// health checks. One stops answering: the call in flight moves to the other within
// reply_timeout, the silent one is marked down after its failed pings and gets no new call, and
// comes back after its good ones; both down gives 503 at once; [limits] answers 503 past them.
// The PBXs are auto-answering endpoints (they answer the health pings), and two sipp PBXs for
// the built-in failover.
import assert from "node:assert/strict";
import {
  ADDRESS,
  adminGet,
  assertAllCallsSucceeded,
  type Ports,
  received,
  runSipp,
  sbcConfig,
  sleep,
  startSippServer,
  usingPorts,
  withSbc,
} from "./_harness.ts";
import { backupPbx } from "./_script.ts";
import { mediaConfig, sdpBody } from "./_media.ts";
import {
  AutoPbx,
  callerDialog,
  isResponse,
  sendInDialog,
  sendInvite,
  type SipAddress,
  SipEndpoint,
} from "./_sip_peer.ts";

const BACKUP = "127.0.2.11";

/** Two targets of one priority... or two priorities; health every second, 2 to fall, 2 to rise. */
function poolConfig(ports: Ports, pbx: string, extra = ""): string {
  return mediaConfig(ports).replace(
    /\[pbx\][\s\S]*?(?=\[admin\])/,
    `[pbx]\n${pbx}\nreply_timeout = 1\n\n[pbx.health]\ninterval = 1\nfailures = 2\nsuccesses = 2\n\n` +
      extra,
  );
}

const twoPriorities = (ports: Ports) =>
  `targets = [\n  { address = "udp:${ADDRESS.pbx}:${ports.pbx}", priority = 1 },\n` +
  `  { address = "udp:${BACKUP}:${ports.pbx}", priority = 2 },\n]`;

const audio = (address: string, port: number) =>
  sdpBody({ address, media: [{ type: "audio", port }] });

/** One call from the phone: the final status it got, and (answered) the BYE done. */
async function call(phone: SipEndpoint, sbc: SipAddress, ports: Ports): Promise<number> {
  const invite = await sendInvite(phone, sbc, audio(ADDRESS.phone, ports.phoneMedia));
  const final = await phone.expect(
    (m) => m.kind === "response" && m.callId === invite.callId && m.status >= 200,
    "a final answer",
    6_000,
  );
  if (final.msg.status >= 300) return final.msg.status;
  const dialog = callerDialog(phone, invite, final.msg);
  await sendInDialog(dialog, "ACK");
  const bye = await sendInDialog(dialog, "BYE");
  await phone.expect(
    (m) => isResponse("BYE", bye.cseq, 200)(m) && m.callId === invite.callId,
    "200 to the BYE",
  );
  return 200;
}

interface PoolStats {
  pbx: { target: string; up: boolean; priority: number; weight: number; since: string }[];
  sip: { callsRefused: Record<string, number> };
}

async function waitForUp(ports: Ports, target: string, up: boolean): Promise<PoolStats> {
  const deadline = Date.now() + 6_000;
  for (;;) {
    const stats = await adminGet(ports, "/api/stats") as PoolStats;
    if (stats.pbx.find((p) => p.target === target)?.up === up) return stats;
    assert.ok(
      Date.now() < deadline,
      `${target} not ${up ? "up" : "down"}: ${JSON.stringify(stats.pbx)}`,
    );
    await sleep(100);
  }
}

Deno.test("a PBX that stops answering: its call moves on, it is marked down, then up again", async () => {
  const ports = usingPorts(85);
  const primary = `udp:${ADDRESS.pbx}:${ports.pbx}`;
  await withSbc({ ports, configToml: poolConfig(ports, twoPriorities(ports)) }, async (sbc) => {
    await using a = new AutoPbx(
      ADDRESS.pbx,
      ports.pbx,
      (n) => audio(ADDRESS.pbx, ports.pbxMedia + 2 * n),
    );
    await using b = new AutoPbx(BACKUP, ports.pbx, (n) => audio(BACKUP, ports.pbxMedia + 2 * n));
    await using phone = new SipEndpoint(ADDRESS.phone, ports.phone);
    const sbcOutside = { host: ADDRESS.external, port: ports.sbc };
    assert.equal(await call(phone, sbcOutside, ports), 200);
    assert.deepEqual([a.invites, b.invites], [1, 0], "priority 1 first");

    // A goes silent: the next call waits reply_timeout (1 s) on it, then B answers.
    a.mode = "silent";
    const started = Date.now();
    assert.equal(await call(phone, sbcOutside, ports), 200, "no failed call");
    assert.ok(Date.now() - started < 3_000, `answered after ${Date.now() - started} ms`);
    assert.deepEqual([a.invites, b.invites], [2, 1]);

    // Two failed pings later A is down: a new call goes straight to B.
    const down = await waitForUp(ports, primary, false);
    assert.deepEqual(down.pbx.map((p) => [p.target, p.up, p.priority]), [
      [primary, false, 1],
      [`udp:${BACKUP}:${ports.pbx}`, true, 2],
    ]);
    const metrics = await (await fetch(`http://${ADDRESS.admin}:${ports.admin}/metrics`)).text();
    assert.match(metrics, new RegExp(`edgesbc_pbx_up\\{target="${primary}"\\} 0`));
    assert.equal(await call(phone, sbcOutside, ports), 200);
    assert.deepEqual([a.invites, b.invites], [2, 2], "A was not tried");
    assert.match(await sbc.logs(), /PBX udp:127\.0\.2\.10:\d+ is down/);

    // A answers again: two good pings and it takes the calls back.
    a.mode = "answer";
    await waitForUp(ports, primary, true);
    assert.equal(await call(phone, sbcOutside, ports), 200);
    assert.deepEqual([a.invites, b.invites], [3, 2]);
    assert.match(await sbc.logs(), /PBX udp:127\.0\.2\.10:\d+ is up/);
  });
});

Deno.test("every PBX down: 503 with Retry-After at once; a listed failure answer moves the call on", async () => {
  const ports = usingPorts(86);
  await withSbc({ ports, configToml: poolConfig(ports, twoPriorities(ports)) }, async () => {
    await using a = new AutoPbx(ADDRESS.pbx, ports.pbx, () => audio(ADDRESS.pbx, ports.pbxMedia));
    await using b = new AutoPbx(BACKUP, ports.pbx, () => audio(BACKUP, ports.pbxMedia + 2));
    await using phone = new SipEndpoint(ADDRESS.phone, ports.phone);
    const sbcOutside = { host: ADDRESS.external, port: ports.sbc };

    // A answers 503 (in failover_on): B takes the call; the caller never sees the 503.
    a.mode = 503;
    assert.equal(await call(phone, sbcOutside, ports), 200);
    assert.deepEqual([a.invites, b.invites], [1, 1]);
    // A 486 is not in failover_on: it goes to the caller.
    a.mode = 486;
    assert.equal(await call(phone, sbcOutside, ports), 486);
    assert.deepEqual([a.invites, b.invites], [2, 1]);

    a.mode = b.mode = "silent";
    await waitForUp(ports, `udp:${BACKUP}:${ports.pbx}`, false);
    await waitForUp(ports, `udp:${ADDRESS.pbx}:${ports.pbx}`, false);
    const invites = a.invites + b.invites;
    const started = Date.now();
    const invite = await sendInvite(phone, sbcOutside, audio(ADDRESS.phone, ports.phoneMedia));
    const refused = await phone.expect(
      (m) => m.kind === "response" && m.callId === invite.callId && m.status >= 200,
      "503",
    );
    assert.equal(refused.msg.status, 503);
    assert.ok(Date.now() - started < 500, `answered after ${Date.now() - started} ms`);
    assert.match(refused.msg.headers.find((h) => h.name === "retry-after")?.value ?? "", /^\d+$/);
    assert.equal(a.invites + b.invites, invites, "no PBX was tried");
    const stats = await adminGet(ports, "/api/stats") as PoolStats;
    assert.equal(stats.sip.callsRefused.no_pbx, 1);
  });
});

Deno.test("[limits]: a call past `calls` and past `calls_per_second` is answered 503 with Retry-After", async () => {
  const ports = usingPorts(87);
  const one = `address = "udp:${ADDRESS.pbx}:${ports.pbx}"`;
  const configToml = poolConfig(ports, one, "[limits]\ncalls = 1\ncalls_per_second = 2\n\n");
  await withSbc({ ports, configToml }, async () => {
    await using _pbx = new AutoPbx(
      ADDRESS.pbx,
      ports.pbx,
      (n) => audio(ADDRESS.pbx, ports.pbxMedia + 2 * n),
    );
    await using phone = new SipEndpoint(ADDRESS.phone, ports.phone);
    const sbcOutside = { host: ADDRESS.external, port: ports.sbc };
    // One call up (answered, not hung up), a second one refused.
    const first = await sendInvite(phone, sbcOutside, audio(ADDRESS.phone, ports.phoneMedia));
    const ok = await phone.expect(isResponse("INVITE", 1, 200), "200");
    const dialog = callerDialog(phone, first, ok.msg);
    await sendInDialog(dialog, "ACK");
    const second = await sendInvite(phone, sbcOutside, audio(ADDRESS.phone, ports.phoneMedia + 2));
    const busy = await phone.expect(
      (m) => m.kind === "response" && m.callId === second.callId && m.status >= 200,
      "503",
    );
    assert.equal(busy.msg.status, 503);
    assert.ok(busy.msg.headers.some((h) => h.name === "retry-after"));
    const bye = await sendInDialog(dialog, "BYE");
    await phone.expect(isResponse("BYE", bye.cseq, 200), "200 to the BYE");
    // calls_per_second = 2: two calls were admitted this second (the first, and none since: the
    // refused one was not), so one more passes and the next is refused.
    await sleep(1_100);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push(await call(phone, sbcOutside, ports));
    assert.deepEqual(statuses, [200, 200, 503]);
    const stats = await adminGet(ports, "/api/stats") as PoolStats;
    assert.equal(stats.sip.callsRefused.limit_calls, 1);
    assert.equal(stats.sip.callsRefused.limit_rate, 1);
  });
});

Deno.test("the built-in pipeline between two sipp PBXs: the first answers 503, the second takes the call", async () => {
  const ports = usingPorts(89);
  const backup = backupPbx(ports);
  const configToml = sbcConfig(ports).replace(
    /^address = ".*"$/m,
    `targets = [\n  { address = "udp:${ADDRESS.pbx}:${ports.pbx}", priority = 1 },\n` +
      `  { address = "udp:${backup.at.ip}:${backup.at.port}", priority = 2 },\n]`,
  );
  await withSbc({ ports, configToml }, async () => {
    await using first = await startSippServer({
      scenario: "uas-reject-503.xml",
      role: "pbx",
      ports,
      calls: 3,
    });
    await using second = await startSippServer({
      ...backup,
      scenario: "uas-answer-leaks-internal-headers.xml",
      calls: 3,
    });
    const phone = await runSipp({
      scenario: "uac-call-honours-route-set.xml",
      role: "phone",
      ports,
      remote: `${ADDRESS.external}:${ports.sbc}`,
      calls: 3,
      rate: 10,
    });
    const [primary, answered] = [await first.wait(10_000), await second.wait(10_000)];
    assertAllCallsSucceeded(3, { phone, "first PBX": primary, "second PBX": answered });
    // The caller never heard of the 503s.
    assert.deepEqual(
      phone.messages.filter((m) => m.direction === "received" && /^SIP\/2\.0 503/.test(m.text)),
      [],
    );
  });
});

Deno.test("[pbx.health] failure_status decides which answers to a ping count as failed", async () => {
  const ports = usingPorts(90);
  const one = `address = "udp:${ADDRESS.pbx}:${ports.pbx}"`;
  const target = `udp:${ADDRESS.pbx}:${ports.pbx}`;
  const configToml = poolConfig(ports, one).replace(
    "successes = 2",
    'successes = 2\nfailure_status = "404|5[0-9][0-9]"',
  );
  await withSbc({ ports, configToml }, async () => {
    await using pbx = new AutoPbx(ADDRESS.pbx, ports.pbx, () => audio(ADDRESS.pbx, ports.pbxMedia));
    // 405 is not listed: the PBX stays up through several pings.
    pbx.optionsStatus = 405;
    const pinged = pbx.options;
    while (pbx.options < pinged + 3) await sleep(100);
    assert.equal((await waitForUp(ports, target, true)).pbx[0]!.up, true);
    // 404 is: two of them and it is down.
    pbx.optionsStatus = 404;
    await waitForUp(ports, target, false);
  });
});

Deno.test("two sipp PBXs under health pings: one stopped loses its calls and is marked down, restarted it is used again; both stopped: 503", async () => {
  const ports = usingPorts(91);
  const backup = backupPbx(ports);
  const primary = `udp:${ADDRESS.pbx}:${ports.pbx}`;
  const configToml = poolConfig(
    ports,
    `targets = [\n  { address = "${primary}", priority = 1 },\n` +
      `  { address = "udp:${backup.at.ip}:${backup.at.port}", priority = 2 },\n]`,
  );
  const sipp = (where: "primary" | "backup") =>
    startSippServer({
      ...(where === "backup" ? backup : { role: "pbx" as const, ports }),
      scenario: "uas-answer-calls-and-options.xml",
      calls: 10_000,
      timeoutMs: 60_000,
    });
  await withSbc({ ports, configToml }, async () => {
    await using phone = new SipEndpoint(ADDRESS.phone, ports.phone);
    const sbcOutside = { host: ADDRESS.external, port: ports.sbc };
    const first = await sipp("primary");
    await using second = await sipp("backup");
    // A round of pings (every second) reaches both.
    await sleep(1_500);
    assert.equal(await call(phone, sbcOutside, ports), 200);
    // The first PBX stops: the next call waits reply_timeout on it, then the second answers.
    const stopped = await first.stop();
    assert.equal(received(stopped, "INVITE").length, 1, "the first call went to the first PBX");
    assert.ok(received(stopped, "OPTIONS").length >= 1, "it was pinged");
    assert.equal(await call(phone, sbcOutside, ports), 200, "no failed call");
    await waitForUp(ports, primary, false);
    // Restarted, it answers its pings and takes the calls back.
    await using again = await sipp("primary");
    await waitForUp(ports, primary, true);
    assert.equal(await call(phone, sbcOutside, ports), 200);
    assert.equal(received(await again.stop(), "INVITE").length, 1, "the call went to it again");
    // Both stopped: once both are down, 503 at once.
    const backupResult = await second.stop();
    assert.equal(received(backupResult, "INVITE").length, 1, "the second PBX took one call");
    await waitForUp(ports, `udp:${backup.at.ip}:${backup.at.port}`, false);
    await waitForUp(ports, primary, false);
    const started = Date.now();
    assert.equal(await call(phone, sbcOutside, ports), 503);
    assert.ok(Date.now() - started < 500, `answered after ${Date.now() - started} ms`);
  });
});
