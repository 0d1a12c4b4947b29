// End-to-end calls where the two sides of the SBC use different transports.
import assert from "node:assert/strict";
import {
  ADDRESS,
  assertAllCallsSucceeded,
  headerValues,
  received,
  runSipp,
  startSippServer,
  usingPorts,
  withSbc,
} from "./_harness.ts";

const calls = 20;

Deno.test("calls from a phone on TCP reach a PBX on UDP", async () => {
  const ports = usingPorts(8);
  await withSbc({ ports }, async () => {
    await using pbx = await startSippServer({
      scenario: "uas-answer-honours-route-set.xml",
      role: "pbx",
      ports,
      calls,
    });
    const phone = await runSipp({
      scenario: "uac-call-honours-route-set.xml",
      role: "phone",
      ports,
      remote: `${ADDRESS.external}:${ports.sbc}`,
      transport: "tcp",
      calls,
      rate: 20,
    });
    const callee = await pbx.wait(15_000);
    assertAllCallsSucceeded(calls, { phone, PBX: callee });
    assert.ok(phone.messages.every((m) => m.transport === "TCP"));
    for (const { text, transport } of received(callee, "INVITE")) {
      assert.equal(transport, "UDP");
      assert.match(headerValues(text, "Via")[0] ?? "", /^SIP\/2\.0\/UDP 127\.0\.2\.1:/i);
    }
  });
});

Deno.test("calls from a phone on UDP reach a PBX on TCP", async () => {
  const ports = usingPorts(9);
  await withSbc({ ports, pbxTransport: "tcp" }, async () => {
    await using pbx = await startSippServer({
      scenario: "uas-answer-honours-route-set.xml",
      role: "pbx",
      ports,
      transport: "tcp",
      calls,
    });
    const phone = await runSipp({
      scenario: "uac-call-honours-route-set.xml",
      role: "phone",
      ports,
      remote: `${ADDRESS.external}:${ports.sbc}`,
      calls,
      rate: 20,
    });
    const callee = await pbx.wait(15_000);
    assertAllCallsSucceeded(calls, { phone, PBX: callee });
    assert.ok(callee.messages.every((m) => m.transport === "TCP"));
    for (const { text } of received(callee, "INVITE")) {
      assert.match(headerValues(text, "Via")[0] ?? "", /^SIP\/2\.0\/TCP 127\.0\.2\.1:/i);
    }
  });
});
