// Per-interface access lists (issue "The edge holds"): a source the external interface denies
// gets nothing back, not even a 400 for garbage, while everyone else is served.
import assert from "node:assert/strict";
import { ADDRESS, optionsRequest, sbcConfig, timer, usingPorts, withSbc } from "./_harness.ts";

const DENIED = "127.0.1.66";

/** Sends `text` from `host` to the SBC's external address; the first answer within `ms`, if any. */
async function ask(host: string, port: number, text: (from: Deno.NetAddr) => string, ms = 1500) {
  const socket = Deno.listenDatagram({ transport: "udp", hostname: host, port: 0 });
  try {
    const from = socket.addr as Deno.NetAddr;
    await socket.send(new TextEncoder().encode(text(from)), {
      transport: "udp",
      hostname: ADDRESS.external,
      port,
    });
    const wait = timer(ms, undefined);
    const answer = socket.receive().then(
      ([bytes]) => new TextDecoder().decode(bytes),
      () => undefined,
    );
    const first = await Promise.race([answer, wait.promise]);
    wait.clear();
    return first;
  } finally {
    socket.close();
  }
}

Deno.test("a source the external interface denies gets nothing back; others are answered", async () => {
  const ports = usingPorts(53);
  const configToml = sbcConfig(ports).replace(
    /(\[interfaces\.internal\])/,
    `deny = ["${DENIED}/32"]\n\n$1`,
  );
  await withSbc({ ports, configToml }, async () => {
    const options = (from: Deno.NetAddr) =>
      optionsRequest(ADDRESS.external, ports.sbc, { host: from.hostname, port: from.port });
    assert.equal(await ask(DENIED, ports.sbc, options), undefined, "no answer to OPTIONS");
    assert.equal(
      await ask(DENIED, ports.sbc, () => "INVITE sip:x SIP/2.0\r\nVia: garbage\r\n\r\n"),
      undefined,
      "no 400 for garbage",
    );
    const answered = await ask(ADDRESS.phone, ports.sbc, options);
    assert.match(answered ?? "", /^SIP\/2\.0 200 /);
  });
});
