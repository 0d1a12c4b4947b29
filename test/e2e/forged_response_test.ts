// An outsider's forged responses: a 200 OK whose top Via names the SBC with a branch of the SBC's
// shape and whose next Via names a host inside must reach nobody (issue "The edge holds":
// responses are trusted by shape). A listener on an internal address that is not the PBX stands
// for the victim; it must receive nothing, over either side, while the SBC goes on answering.
import assert from "node:assert/strict";
import { ADDRESS, usingPorts, waitForOptionsReply, withSbc } from "./_harness.ts";

const VICTIM = "127.0.2.99";
const ATTACKER = "127.0.1.66";

function forged200(sbc: { host: string; port: number }, victimPort: number, n: number): string {
  const body = "v=0\r\no=- 1 1 IN IP4 198.51.100.1\r\ns=-\r\nc=IN IP4 198.51.100.1\r\nt=0 0\r\n";
  return [
    "SIP/2.0 200 OK",
    `Via: SIP/2.0/UDP ${sbc.host}:${sbc.port};branch=z9hG4bKes${n.toString(36)}x1;rport`,
    `Via: SIP/2.0/UDP ${VICTIM}:${victimPort};branch=z9hG4bKvictim${n}`,
    "From: <sip:attacker@example.com>;tag=a",
    "To: <sip:pbx@example.com>;tag=b",
    `Call-ID: forged-${n}@example.com`,
    "CSeq: 1 INVITE",
    "Contact: <sip:attacker@198.51.100.1>",
    "Content-Type: application/sdp",
    `Content-Length: ${body.length}`,
    "",
    body,
  ].join("\r\n");
}

Deno.test("a forged 200 OK with an SBC-shaped Via reaches no host inside, on either side", async () => {
  const ports = usingPorts(50);
  const victimPort = ports.sbc + 9;
  await withSbc({ ports }, async () => {
    const victim = Deno.listenDatagram({ transport: "udp", hostname: VICTIM, port: victimPort });
    const got: string[] = [];
    const listening = (async () => {
      try {
        for await (const [bytes] of victim) got.push(new TextDecoder().decode(bytes));
      } catch { /* closed */ }
    })();
    const attacker = Deno.listenDatagram({ transport: "udp", hostname: ATTACKER, port: 0 });
    // 40 forgeries to each SBC address, with branches of every shape our branches take.
    for (let n = 0; n < 40; n++) {
      for (const host of [ADDRESS.external, ADDRESS.internal]) {
        await attacker.send(
          new TextEncoder().encode(forged200({ host, port: ports.sbc }, victimPort, n)),
          { transport: "udp", hostname: host, port: ports.sbc },
        );
      }
    }
    attacker.close();
    // The SBC is alive and has had the time to forward anything it would.
    await waitForOptionsReply(ADDRESS.external, ports.sbc, { timeoutMs: 5_000 });
    await new Promise((r) => setTimeout(r, 500));
    victim.close();
    await listening;
    assert.deepEqual(got, [], "the victim inside received nothing");
  });
});
