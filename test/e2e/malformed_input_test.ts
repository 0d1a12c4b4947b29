// End-to-end robustness: garbage on the SBC's sockets must not stop it serving calls.
import assert from "node:assert/strict";
import {
  ADDRESS,
  assertAllCallsSucceeded,
  runSipp,
  startSippServer,
  usingPorts,
  withSbc,
} from "./_harness.ts";

/** mulberry32: a seeded generator, so a failing burst can be replayed */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * An INVITE whose Max-Forwards: 0 comes first, so every prefix or variant that still parses is
 * answered 483 by the SBC (RFC 3261 §16.3 step 3) instead of reaching the PBX as a call: the
 * SBC would keep retransmitting it there and sipp would count it against -m.
 */
function invite(host: string, port: number, extra?: string): string {
  return [
    `INVITE sip:service@${host}:${port} SIP/2.0`,
    "Max-Forwards: 0",
    `Via: SIP/2.0/UDP ${ADDRESS.phone}:5999;branch=z9hG4bK-garbage-${crypto.randomUUID()}`,
    "From: <sip:fuzz@127.0.1.10>;tag=1",
    `To: <sip:service@${host}:${port}>`,
    `Call-ID: garbage-${crypto.randomUUID()}@127.0.1.10`,
    "CSeq: 1 INVITE",
    "Contact: <sip:fuzz@127.0.1.10:5999>",
    ...(extra === undefined ? [] : [extra]),
    "Content-Type: application/sdp",
    "Content-Length: 4",
    "",
    "v=0\n",
  ].join("\r\n");
}

/**
 * A few hundred datagrams: random bytes, truncations, byte flips and hand-made bad messages.
 * Anything forwarded would reach the PBX sipp, which counts any new Call-ID as a call.
 */
function garbage(host: string, port: number, seed: number): Uint8Array[] {
  const next = random(seed);
  const int = (n: number) => Math.floor(next() * n);
  const encode = (text: string) => new TextEncoder().encode(text);
  const out: Uint8Array[] = [];
  for (let i = 0; i < 100; i++) {
    out.push(Uint8Array.from({ length: 1 + int(1400) }, () => int(256)));
  }
  for (let i = 0; i < 100; i++) {
    const valid = encode(invite(host, port));
    out.push(valid.slice(0, int(valid.length)));
  }
  for (let i = 0; i < 100; i++) {
    const text = invite(host, port);
    const flipped = encode(text);
    // flips spare the Max-Forwards line, so a variant that still parses is never forwarded
    const keep = text.indexOf("Max-Forwards: 0\r\n");
    for (let j = 0; j < 1 + int(8); j++) {
      const at = int(flipped.length - 17);
      flipped[at < keep ? at : at + 17] = int(256);
    }
    out.push(flipped);
  }
  const crafted = [
    "",
    "\r\n\r\n",
    "INVITE\r\n\r\n",
    "INVITE sip: SIP/2.0\r\n\r\n",
    "INVITE sip:x@y SIP/3.0\r\nVia: SIP/2.0/UDP 1.2.3.4\r\n\r\n",
    invite(host, port).replace(/^Via:.*\r\n/m, ""),
    invite(host, port).replace(/^Call-ID:.*\r\n/m, ""),
    invite(host, port).replace(/^CSeq:.*\r\n/m, "CSeq: x INVITE\r\n"),
    invite(host, port).replace(/^CSeq:.*\r\n/m, "CSeq: 1 BYE\r\n"),
    invite(host, port).replace("Content-Length: 4", "Content-Length: 999999"),
    invite(host, port).replace("Content-Length: 4", "Content-Length: -1"),
    invite(host, port).replace(/^Via:.*\r\n/m, "Via: SIP/2.0/XYZ 1.2.3.4:5060;branch=z9hG4bKx\r\n"),
    invite(host, port).replace(/^Via:.*\r\n/m, "Via: SIP/2.0/UDP [::1:5060;branch=z9hG4bKx\r\n"),
    invite(host, port, "NoColonHeader"),
    invite(host, port, `X-Long: ${"a".repeat(30_000)}`),
    invite(host, port, Array.from({ length: 1000 }, (_, i) => `X-H${i}: ${i}`).join("\r\n")),
    invite(host, port, "Route: <sip:127.0.1.1;lr"),
    invite(host, port, "Record-Route: garbage"),
    "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.1.1:1;branch=z9hG4bKnone\r\n\r\n",
    "SIP/2.0 999 Weird\r\n\r\n",
    "SIP/2.0 OK\r\n\r\n",
    "ACK sip:nobody@127.0.2.10 SIP/2.0\r\n\r\n",
    "\u0000".repeat(200),
    "A".repeat(60_000),
  ];
  out.push(...crafted.map(encode));
  return out;
}

async function sendUdpGarbage(host: string, port: number, seed: number): Promise<number> {
  const conn = Deno.listenDatagram({ transport: "udp", hostname: ADDRESS.phone, port: 0 });
  let count = 0;
  try {
    for (const datagram of garbage(host, port, seed)) {
      // the SBC may answer some with 400 or drop them; either way ignore send errors (ICMP)
      await conn.send(datagram, { transport: "udp", hostname: host, port }).catch(() => {});
      count++;
      if (count % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    conn.close();
  }
  return count;
}

async function sendTcpGarbage(host: string, port: number, seed: number): Promise<void> {
  const next = random(seed);
  const streams = [
    Uint8Array.from({ length: 20_000 }, () => Math.floor(next() * 256)),
    new TextEncoder().encode(
      invite(host, port).replace("Content-Length: 4", "Content-Length: 100000"),
    ),
    new TextEncoder().encode(`INVITE sip:x@${host} SIP/2.0\r\nX: ${"b".repeat(200_000)}`),
    new TextEncoder().encode("\r\n\r\n".repeat(1000) + "garbage\r\n\r\n"),
    new Uint8Array(0),
  ];
  for (const bytes of streams) {
    const conn = await Deno.connect({ hostname: host, port, transport: "tcp" });
    try {
      // the SBC may close on us mid-write; that is a fine answer to garbage
      await conn.write(bytes).catch(() => 0);
    } finally {
      conn.close();
    }
  }
}

Deno.test("a burst of malformed UDP and TCP input leaves the SBC answering and routing calls", async () => {
  const ports = usingPorts(11);
  await withSbc({ ports }, async () => {
    const sent = await sendUdpGarbage(ADDRESS.external, ports.sbc, 1) +
      await sendUdpGarbage(ADDRESS.internal, ports.sbc, 2);
    assert.ok(sent > 600);
    await sendTcpGarbage(ADDRESS.external, ports.sbc, 3);
    await sendTcpGarbage(ADDRESS.internal, ports.sbc, 4);

    // OPTIONS to the SBC itself (Request-URI sip:127.0.1.1:<port>) is answered 200
    const ping = await runSipp({
      scenario: "uac-options-ping.xml",
      role: "phone",
      ports,
      remote: `${ADDRESS.external}:${ports.sbc}`,
      calls: 3,
      rate: 10,
    });
    assertAllCallsSucceeded(3, { "OPTIONS ping": ping });

    await using pbx = await startSippServer({
      scenario: "uas-answer-honours-route-set.xml",
      role: "pbx",
      ports,
      calls: 5,
    });
    const phone = await runSipp({
      scenario: "uac-call-honours-route-set.xml",
      role: "phone",
      ports,
      remote: `${ADDRESS.external}:${ports.sbc}`,
      calls: 5,
      rate: 10,
    });
    const callee = await pbx.wait(15_000);
    assertAllCallsSucceeded(5, { phone, PBX: callee });
  });
});
