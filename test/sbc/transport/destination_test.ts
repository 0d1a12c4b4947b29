import assert from "node:assert/strict";
import { isIpLiteral, resolveHost, resolveUri } from "../../../sbc/transport/destination.ts";

Deno.test("resolveUri() uses an IP literal as is, with the URI's port and transport", async () => {
  assert.deepEqual(await resolveUri("sip:100@127.0.2.10:5070;transport=tcp", "udp"), {
    peer: { host: "127.0.2.10", port: 5070 },
    proto: "tcp",
  });
  assert.deepEqual(await resolveUri("sip:[::1]", "udp"), {
    peer: { host: "::1", port: 5060 },
    proto: "udp",
  });
});

Deno.test("resolveHost() resolves a host name through the system resolver (/etc/hosts)", async () => {
  const dest = await resolveHost("localhost", 5080, "udp");
  assert.equal(dest?.peer.port, 5080);
  assert.match(dest?.peer.host ?? "", /^127\./);
});

Deno.test("resolveHost() gives undefined for a name that does not resolve", async () => {
  assert.equal(await resolveHost("no-such-host.invalid", 5060, "udp"), undefined);
});

Deno.test("resolveUri() refuses schemes it cannot send to", async () => {
  assert.equal(await resolveUri("tel:+15551234", "udp"), undefined);
  assert.equal(isIpLiteral("10.0.0.1"), true);
  assert.equal(isIpLiteral("pbx.example"), false);
});
