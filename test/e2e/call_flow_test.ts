// End-to-end call flows through the SBC between a sipp phone (external) and a sipp PBX (internal).
import assert from "node:assert/strict";
import {
  ADDRESS,
  assertAllCallsSucceeded,
  headerValues,
  type Ports,
  received,
  runSipp,
  sent,
  type SippMessage,
  type SippResult,
  startSippServer,
  usingPorts,
  withSbc,
} from "./_harness.ts";

const phoneToSbc = (ports: Ports) => `${ADDRESS.external}:${ports.sbc}`;

/** The top Via says which hop sent a message: the SBC pushes its own (RFC 3261 §16.6 step 8). */
function assertSentBy(messages: SippMessage[], host: string, port: number, transport = "UDP") {
  const expected = new RegExp(
    `^SIP/2\\.0/${transport} ${host.replaceAll(".", "\\.")}:${port};`,
    "i",
  );
  for (const { text } of messages) {
    const top = headerValues(text, "Via")[0] ?? "";
    assert.match(top, expected, `top Via of:\n${text}`);
  }
}

function callIds(messages: SippMessage[]): Set<string> {
  return new Set(messages.map(({ text }) => headerValues(text, "Call-ID")[0] ?? ""));
}

Deno.test("500 calls from the phone are record-routed twice and their BYEs cross the SBC", async () => {
  const ports = usingPorts(1);
  const calls = 500;
  await withSbc({ ports }, async () => {
    // the PBX scenario itself fails a call whose INVITE lacks two ;lr Record-Route entries
    await using pbx = await startSippServer({
      scenario: "uas-answer-honours-route-set.xml",
      role: "pbx",
      ports,
      calls,
      timeoutMs: 60_000,
    });
    const phone = await runSipp({
      scenario: "uac-call-honours-route-set.xml",
      role: "phone",
      ports,
      remote: phoneToSbc(ports),
      calls,
      rate: 50,
      timeoutMs: 45_000,
    });
    const callee = await pbx.wait(15_000);
    assertAllCallsSucceeded(calls, { phone, PBX: callee });

    // the phone learnt the route set from the 200: topology hidden, our external entry only
    const phoneByes = sent(phone, "BYE");
    assert.equal(callIds(phoneByes).size, calls);
    for (const { text } of phoneByes) {
      const route = headerValues(text, "Route").join(", ");
      assert.match(route, new RegExp(`^<sip:127\\.0\\.1\\.1:${ports.sbc};lr>$`));
    }

    // each BYE reached the PBX from the SBC's internal side, the SBC's own Route entries removed
    const byes = received(callee, "BYE");
    assert.equal(callIds(byes).size, calls);
    assertSentBy(byes, ADDRESS.internal, ports.sbc);
    for (const { text } of byes) assert.deepEqual(headerValues(text, "Route"), [], text);
    assertSentBy(received(callee, "ACK"), ADDRESS.internal, ports.sbc);
  });
});

Deno.test("a call from the PBX reaches the phone and the PBX's BYE ends it", async () => {
  const ports = usingPorts(2);
  const calls = 10;
  await withSbc({ ports }, async () => {
    // the phone checks it sees one Record-Route entry: topology hidden
    await using phone = await startSippServer({
      scenario: "uas-answer-honours-hidden-route-set.xml",
      role: "phone",
      ports,
      calls,
    });
    // Request-URI names the phone; -rsa sends the bytes to the SBC's internal side
    const pbx = await runSipp({
      scenario: "uac-call-honours-route-set.xml",
      role: "pbx",
      ports,
      remote: `${ADDRESS.phone}:${ports.phone}`,
      calls,
      rate: 20,
      args: ["-rsa", `${ADDRESS.internal}:${ports.sbc}`, "-s", "phone"],
    });
    const callee = await phone.wait(15_000);
    assertAllCallsSucceeded(calls, { PBX: pbx, phone: callee });
    const invites = received(callee, "INVITE");
    assert.ok(invites.length >= calls);
    for (const { text } of invites) {
      assert.ok(text.startsWith(`INVITE sip:phone@${ADDRESS.phone}:${ports.phone} `), text);
    }
    assertSentBy(invites, ADDRESS.external, ports.sbc);
    assertSentBy(received(callee, "BYE"), ADDRESS.external, ports.sbc);
  });
});

Deno.test("a call from the PBX reaches the phone and the phone's BYE ends it", async () => {
  const ports = usingPorts(3);
  const calls = 10;
  await withSbc({ ports }, async () => {
    await using phone = await startSippServer({
      scenario: "uas-answer-then-send-bye.xml",
      role: "phone",
      ports,
      calls,
    });
    const pbx = await runSipp({
      scenario: "uac-call-expect-bye.xml",
      role: "pbx",
      ports,
      remote: `${ADDRESS.phone}:${ports.phone}`,
      calls,
      rate: 20,
      args: ["-rsa", `${ADDRESS.internal}:${ports.sbc}`, "-s", "phone"],
    });
    const callee = await phone.wait(15_000);
    assertAllCallsSucceeded(calls, { PBX: pbx, phone: callee });
    const byes = received(pbx, "BYE");
    assert.equal(callIds(byes).size, calls);
    assertSentBy(byes, ADDRESS.internal, ports.sbc);
  });
});

Deno.test("a call from the phone is ended by the PBX's BYE through the SBC", async () => {
  const ports = usingPorts(4);
  const calls = 10;
  await withSbc({ ports }, async () => {
    await using pbx = await startSippServer({
      scenario: "uas-answer-then-send-bye.xml",
      role: "pbx",
      ports,
      calls,
    });
    const phone = await runSipp({
      scenario: "uac-call-expect-bye.xml",
      role: "phone",
      ports,
      remote: phoneToSbc(ports),
      calls,
      rate: 20,
    });
    const callee = await pbx.wait(15_000);
    assertAllCallsSucceeded(calls, { phone, PBX: callee });
    const byes = received(phone, "BYE");
    assert.equal(callIds(byes).size, calls);
    assertSentBy(byes, ADDRESS.external, ports.sbc);
  });
});

Deno.test("CANCEL before the answer gives the caller 487 and reaches the PBX", async () => {
  const ports = usingPorts(5);
  const calls = 10;
  await withSbc({ ports }, async () => {
    await using pbx = await startSippServer({
      scenario: "uas-ring-then-487-on-cancel.xml",
      role: "pbx",
      ports,
      calls,
    });
    const phone = await runSipp({
      scenario: "uac-cancel-before-answer.xml",
      role: "phone",
      ports,
      remote: phoneToSbc(ports),
      calls,
      rate: 20,
    });
    const callee = await pbx.wait(15_000);
    assertAllCallsSucceeded(calls, { phone, PBX: callee });
    assert.equal(callIds(received(phone, "487")).size, calls);
    const cancels = received(callee, "CANCEL");
    assert.equal(callIds(cancels).size, calls);
    assertSentBy(cancels, ADDRESS.internal, ports.sbc);
    assertOneHopByHopAck(callee, ports, calls);
  });
});

/**
 * The PBX got exactly one ACK per call, from the SBC's client transaction: same branch as the
 * SBC's INVITE (RFC 3261 §17.1.1.3). A second one would be the caller's ACK leaking through.
 */
function assertOneHopByHopAck(
  callee: SippResult,
  ports: Ports,
  calls: number,
) {
  const acks = received(callee, "ACK");
  assert.equal(acks.length, calls, `ACKs at the PBX: ${acks.length} for ${calls} calls`);
  assert.equal(callIds(acks).size, calls);
  assertSentBy(acks, ADDRESS.internal, ports.sbc);
  const inviteVia = new Map(
    received(callee, "INVITE").map(({ text }) => [
      headerValues(text, "Call-ID")[0],
      headerValues(text, "Via")[0],
    ]),
  );
  for (const { text } of acks) {
    assert.equal(headerValues(text, "Via")[0], inviteVia.get(headerValues(text, "Call-ID")[0]));
  }
}

for (const [code, n] of [[486, 6], [503, 7]] as const) {
  Deno.test(`${code} from the PBX reaches the caller and the SBC absorbs the caller's ACK`, async () => {
    const ports = usingPorts(n);
    const calls = 10;
    await withSbc({ ports }, async () => {
      await using pbx = await startSippServer({
        scenario: `uas-reject-${code}.xml`,
        role: "pbx",
        ports,
        calls,
      });
      const phone = await runSipp({
        scenario: `uac-expect-${code}.xml`,
        role: "phone",
        ports,
        remote: phoneToSbc(ports),
        calls,
        rate: 20,
      });
      const callee = await pbx.wait(15_000);
      // a leaked second ACK also fails the PBX scenario: it arrives as an unexpected message
      assertAllCallsSucceeded(calls, { phone, PBX: callee });
      assert.equal(callIds(received(phone, String(code))).size, calls);
      assertOneHopByHopAck(callee, ports, calls);
    });
  });
}
