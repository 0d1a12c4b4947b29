// `[pbx] address` may name a host: the SBC resolves it (getaddrinfo, so /etc/hosts works).
import assert from "node:assert/strict";
import {
  ADDRESS,
  assertAllCallsSucceeded,
  received,
  runSipp,
  sbcConfig,
  startSippServer,
  usingPorts,
  withSbc,
} from "./_harness.ts";

Deno.test("calls reach a PBX named by host name (localhost)", async () => {
  const ports = usingPorts(13);
  const configToml = sbcConfig(ports).replace(`udp:${ADDRESS.pbx}:`, "udp:localhost:");
  assert.match(configToml, /address = "udp:localhost:\d+"/);
  await withSbc({ ports, configToml }, async () => {
    await using pbx = await startSippServer({
      scenario: "uas-answer-honours-route-set.xml",
      role: "pbx",
      ports,
      at: {
        ip: "127.0.0.1",
        port: ports.pbx,
        mediaPort: ports.pbxMedia,
        controlPort: ports.pbxControl,
      },
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
    const callee = await pbx.wait(15_000);
    assertAllCallsSucceeded(3, { phone, PBX: callee });
    assert.equal(received(callee, "INVITE").length, 3);
  });
});
