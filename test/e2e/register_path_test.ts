// End-to-end REGISTER through the SBC (RFC 3327 Path).
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

Deno.test("REGISTER reaches the PBX with a Path that routes back through the SBC", async () => {
  const ports = usingPorts(12);
  const registrations = 5;
  await withSbc({ ports }, async () => {
    // the registrar scenario fails a REGISTER without a loose-routing Path URI
    await using pbx = await startSippServer({
      scenario: "uas-register-check-path.xml",
      role: "pbx",
      ports,
      calls: registrations,
    });
    const phone = await runSipp({
      scenario: "uac-register.xml",
      role: "phone",
      ports,
      remote: `${ADDRESS.external}:${ports.sbc}`,
      calls: registrations,
      rate: 10,
    });
    const registrar = await pbx.wait(15_000);
    assertAllCallsSucceeded(registrations, { phone, PBX: registrar });

    const registers = received(registrar, "REGISTER");
    assert.ok(registers.length >= registrations);
    // the first Path URI is the SBC's internal side: requests to the contact come back to it
    const sbcUri = new RegExp(`^<sip:([^@>]*@)?127\\.0\\.2\\.1:${ports.sbc}(;[^>]*)?;lr[;>]`);
    for (const { text } of registers) {
      const path = headerValues(text, "Path").join(", ");
      assert.match(path, sbcUri, text);
    }
  });
});
