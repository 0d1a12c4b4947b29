import assert from "node:assert/strict";
import { AdminServer } from "../../../sbc/admin/admin_server.ts";
import { bindError } from "../../../sbc/transport/bind_error.ts";
import { Transport } from "../../../sbc/transport/transport.ts";

// A port of e2e block 49's range that no e2e test binds (blocks use base + 0…5 and 10…17).
const PORT = 15060 + 20 * 49 + 19;

Deno.test("bindError() names the socket and drops the OS error number", () => {
  const err = new Deno.errors.AddrInUse("Address already in use (os error 98)");
  assert.equal(
    bindError({ proto: "udp", host: "127.0.1.1", port: 5060 }, err).message,
    "Cannot bind udp:127.0.1.1:5060: Address already in use",
  );
  assert.equal(
    bindError({ proto: "tcp", host: "::1", port: 5060 }, new Error("Permission denied")).message,
    "Cannot bind tcp:[::1]:5060: Permission denied",
  );
});

Deno.test("Transport.start() says which socket is taken", async () => {
  const taken = Deno.listenDatagram({ transport: "udp", hostname: "127.0.1.1", port: PORT });
  const transport = new Transport({
    sockets: [
      { side: "internal", address: { proto: "udp", host: "127.0.2.1", port: PORT } },
      { side: "external", address: { proto: "udp", host: "127.0.1.1", port: PORT } },
    ],
    tcpIdleTimeout: 1000,
  });
  try {
    await assert.rejects(() => transport.start(() => {}), {
      message: `Cannot bind udp:127.0.1.1:${PORT}: Address already in use`,
    });
  } finally {
    await transport.close();
    taken.close();
  }
});

Deno.test("AdminServer says which address is taken", () => {
  using _taken = Deno.listen({ hostname: "127.0.0.1", port: PORT });
  assert.throws(() => new AdminServer({ host: "127.0.0.1", port: PORT }, undefined!), {
    message: `Cannot bind tcp:127.0.0.1:${PORT}: Address already in use`,
  });
});
