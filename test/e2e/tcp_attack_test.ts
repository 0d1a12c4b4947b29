// Slow and many TCP connections from outside (issue "No outsider can take ... the SBC's
// resources"): a header block trickled in a byte at a time is cut off at the message deadline,
// connections past the per-address cap are closed at once, and the SBC keeps answering on TCP
// and UDP throughout, and on TCP once the attack ends. Bounded: 41 connections, a few dozen bytes
// each.
import assert from "node:assert/strict";
import {
  ADDRESS,
  optionsOverTcp,
  sbcConfig,
  sleep,
  usingPorts,
  waitForOptionsReply,
  withSbc,
} from "./_harness.ts";

/** Resolves when the peer closes `conn` (a read returns EOF or fails), or after `ms` with false. */
async function closedWithin(conn: Deno.TcpConn, ms: number): Promise<boolean> {
  const buf = new Uint8Array(1024);
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const read = await Promise.race([
      conn.read(buf).catch(() => null),
      sleep(deadline - Date.now()).then(() => "timeout" as const),
    ]);
    if (read === "timeout") return false;
    if (read === null) return true;
  }
  return false;
}

Deno.test("a trickled TCP header is cut off at the deadline, and an address's 33rd connection is closed at once", async () => {
  const ports = usingPorts(65);
  const configToml = sbcConfig(ports) +
    "\n[sip]\ntcp_message_timeout = 2\nmax_tcp_per_source = 32\n";
  await withSbc({ ports, configToml }, async (sbc) => {
    // Slowloris: one header byte every 500 ms, never finishing the message.
    const slow = await Deno.connect({
      hostname: ADDRESS.external,
      port: ports.sbc,
      transport: "tcp",
    });
    const started = Date.now();
    const trickle = (async () => {
      for (const byte of new TextEncoder().encode("OPTIONS sip:x@y SIP/2.0\r\nVia: SIP/2.0/TCP")) {
        try {
          await slow.write(Uint8Array.of(byte));
        } catch {
          return; // closed by the SBC
        }
        await sleep(500);
      }
    })();
    assert.ok(await closedWithin(slow, 6_000), "the trickling connection was never closed");
    const after = Date.now() - started;
    assert.ok(after >= 1_500, `closed after ${after} ms, before the deadline`);
    await trickle;
    slow.close();
    assert.match(await sbc.logs(), /no whole message within 2000 ms/);

    // 40 connections from one address: 32 stay open, the rest are closed at once.
    const conns: Deno.TcpConn[] = [];
    try {
      for (let i = 0; i < 40; i++) {
        conns.push(
          await Deno.connect({ hostname: ADDRESS.external, port: ports.sbc, transport: "tcp" }),
        );
      }
      const closed = await Promise.all(conns.map((c) => closedWithin(c, 1_000)));
      assert.equal(closed.filter(Boolean).length, 8, JSON.stringify(closed));
      // Meanwhile the SBC answers on UDP.
      await waitForOptionsReply(ADDRESS.external, ports.sbc, { timeoutMs: 3_000 });
    } finally {
      for (const c of conns) c.close();
    }
    // Once they are gone, the same address is served over TCP again.
    await sleep(200);
    assert.ok(await optionsOverTcp(ports.sbc), "OPTIONS over TCP after the attack");
  });
});

Deno.test("a TCP peer that never reads is cut off: what waits to be written for it is bounded", async () => {
  const ports = usingPorts(83);
  const configToml = sbcConfig(ports) + "\n[sip]\ntcp_message_timeout = 3\n";
  await withSbc({ ports, configToml }, async (sbc) => {
    const conn = await Deno.connect({ hostname: ADDRESS.external, port: ports.sbc });
    // OPTIONS to the SBC itself with 30 kB of Via each: every answer is as large. Bounded: at
    // most 400 (12 MB), stopped as soon as the SBC closes the connection.
    const vias = Array.from(
      { length: 300 },
      (_, i) => `Via: SIP/2.0/TCP 127.0.1.10:${5000 + i};branch=z9hG4bK-${"x".repeat(60)}${i}`,
    ).join("\r\n");
    const encoder = new TextEncoder();
    let sent = 0;
    let closed = false;
    try {
      for (; sent < 400 && !closed; sent++) {
        const request = [
          `OPTIONS sip:${ADDRESS.external}:${ports.sbc};transport=tcp SIP/2.0`,
          `Via: SIP/2.0/TCP 127.0.1.10:5060;branch=z9hG4bK-q${sent}`,
          vias,
          "Max-Forwards: 70",
          `From: <sip:q@127.0.1.10>;tag=q${sent}`,
          `To: <sip:${ADDRESS.external}>`,
          `Call-ID: q${sent}@127.0.1.10`,
          "CSeq: 1 OPTIONS",
          "Content-Length: 0",
          "",
          "",
        ].join("\r\n");
        try {
          await conn.write(encoder.encode(request));
        } catch {
          closed = true;
        }
        if (sent % 50 === 49) await sleep(100);
      }
      // Never read: either the queue bound or the write deadline closes it.
      const deadline = Date.now() + 8_000;
      while (!/bytes wait to be written|nothing written for/.test(await sbc.logs())) {
        assert.ok(Date.now() < deadline, `not cut off after ${sent} requests`);
        await sleep(100);
      }
    } finally {
      conn.close();
    }
    assert.ok(await optionsOverTcp(ports.sbc), "TCP served after");
  });
});
