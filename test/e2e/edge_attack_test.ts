// Attacks from the external side on the promises of docs/security.md, against the real process
// (port blocks 58 and 59). Each test asserts the safe behaviour: it fails while its hole is open.
//
// - An IPv4-mapped IPv6 Contact (`[::ffff:127.0.2.99]`, TCP) takes the PBX's BYE to a victim
//   inside by the external interface, though the inside's networks are listed (promises 1, 4).
// - A 200 forged on the external side for the INVITE the SBC sent the PBX (its branch predicted
//   from one the SBC sent outside) sets the dialog's target: the outsider's next in-dialog
//   request goes to a victim inside (promises 1, 2, 3).
// - The PBX's SDP in its 200 to an OPTIONS leaves unrewritten, naming the inside (promise 6).
import assert from "node:assert/strict";
import { ADDRESS, type Ports, sbcConfig, sleep, usingPorts, withSbc } from "./_harness.ts";
import {
  calleeDialog,
  isRequest,
  isResponse,
  respond,
  sendInDialog,
  SipEndpoint,
} from "./_sip_peer.ts";

const VICTIM = "127.0.2.99";

/** The e2e config with the inside's networks listed, as docs/configuration.md asks. */
function insideListed(ports: Ports): string {
  return sbcConfig(ports).replace(
    `media = "${ADDRESS.internal}"`,
    `media = "${ADDRESS.internal}"\nnetworks = ["127.0.2.0/24"]`,
  );
}

function lines(...l: string[]): string {
  return [...l, "Content-Length: 0", "", ""].join("\r\n");
}

/** A TCP and a UDP listener on the victim's address; what each got. */
function victimListeners(port: number) {
  const tcp = Deno.listen({ hostname: VICTIM, port });
  const udp = Deno.listenDatagram({ transport: "udp", hostname: VICTIM, port });
  const got: string[] = [];
  const loops = [
    (async () => {
      for await (const conn of tcp) {
        const buf = new Uint8Array(4096);
        const n = await Promise.race([conn.read(buf), sleep(300).then(() => null)]);
        got.push(`TCP: ${new TextDecoder().decode(buf.subarray(0, n ?? 0)).split("\r\n")[0]}`);
        conn.close();
      }
    })().catch(() => {}),
    (async () => {
      for await (const [bytes] of udp) {
        got.push(`UDP: ${new TextDecoder().decode(bytes).split("\r\n")[0]}`);
      }
    })().catch(() => {}),
  ];
  return {
    got,
    async close() {
      tcp.close();
      udp.close();
      await Promise.all(loops);
    },
  };
}

Deno.test("refused edge attack: an IPv4-mapped IPv6 Contact over TCP takes the PBX's BYE to a victim inside", async () => {
  const ports = usingPorts(58);
  const victimPort = ports.sbc + 9;
  await withSbc({ ports, configToml: insideListed(ports) }, async () => {
    await using phone = new SipEndpoint(ADDRESS.phone, ports.phone);
    await using pbx = new SipEndpoint(ADDRESS.pbx, ports.pbx);
    const victim = victimListeners(victimPort);
    try {
      const sbc = { host: ADDRESS.external, port: ports.sbc };
      await phone.send(
        lines(
          `INVITE sip:100@${sbc.host}:${sbc.port} SIP/2.0`,
          `Via: SIP/2.0/UDP ${phone.host}:${phone.port};branch=z9hG4bK-mapped1;rport`,
          "Max-Forwards: 70",
          `From: <sip:caller@${phone.host}>;tag=mapped`,
          `To: <sip:100@${sbc.host}>`,
          "Call-ID: mapped-call@example.com",
          "CSeq: 1 INVITE",
          `Contact: <sip:x@[::ffff:${VICTIM}]:${victimPort};transport=tcp>`,
        ),
        sbc,
      );
      const invite = await pbx.expect(isRequest("INVITE", 1), "the INVITE");
      await respond(pbx, invite.msg, 200, "OK", { toTag: "pbxmapped" });
      await phone.expect(isResponse("INVITE", 1, 200), "the 200");
      // The PBX hangs up, as a UAS does: to the caller's Contact, by the Record-Route set.
      const bye = await sendInDialog(calleeDialog(pbx, invite.msg, "pbxmapped"), "BYE");
      assert.match(bye.uri, /::ffff:/);
      await sleep(1_000);
    } finally {
      await victim.close();
    }
    assert.deepEqual(victim.got, [], "the victim inside received something from the SBC");
  });
});

Deno.test("refused edge attack: a 200 forged on the external side for an INVITE sent to the PBX leads the dialog to a victim inside", async () => {
  const ports = usingPorts(58);
  const victimPort = ports.sbc + 9;
  await withSbc({ ports, configToml: insideListed(ports) }, async () => {
    await using phone = new SipEndpoint(ADDRESS.phone, ports.phone);
    await using pbx = new SipEndpoint(ADDRESS.pbx, ports.pbx);
    const victim = victimListeners(victimPort);
    try {
      const ext = { host: ADDRESS.external, port: ports.sbc };
      const int = { host: ADDRESS.internal, port: ports.sbc };
      // 1. The PBX calls the attacker: the SBC's branch shows its salt and counter.
      await pbx.send(
        lines(
          `INVITE sip:evil@${phone.host}:${phone.port} SIP/2.0`,
          `Via: SIP/2.0/UDP ${pbx.host}:${pbx.port};branch=z9hG4bK-probe`,
          "Max-Forwards: 70",
          `From: <sip:100@${pbx.host}>;tag=probe`,
          `To: <sip:evil@${phone.host}>`,
          "Call-ID: probe@127.0.2.10",
          "CSeq: 1 INVITE",
          `Contact: <sip:100@${pbx.host}:${pbx.port}>`,
        ),
        int,
      );
      const probe = await phone.expect(isRequest("INVITE", 1), "the PBX's INVITE");
      const m = /^(z9hG4bKes.{6})([0-9a-z]+)$/.exec(probe.msg.vias[0]!.branch!);
      assert.ok(m, `branch of the SBC's shape: ${probe.msg.vias[0]!.branch}`);
      const head = m[1]!;
      const n = parseInt(m[2]!, 36);
      await respond(phone, probe.msg, 486, "Busy Here", { toTag: "busy" });
      await pbx.expect(isResponse("INVITE", 1, 486), "the 486");

      // 2. The attacker calls the PBX; the PBX has not answered when the forged 200s arrive.
      const invite = (branch: string) => [
        `Via: SIP/2.0/UDP ${phone.host}:${phone.port};branch=${branch};rport`,
        `From: <sip:caller@${phone.host}>;tag=evil`,
        "Call-ID: evil-call@example.com",
      ];
      const [via, from, callId] = invite("z9hG4bK-evil1");
      await phone.send(
        lines(
          `INVITE sip:100@${ext.host}:${ext.port} SIP/2.0`,
          via!,
          "Max-Forwards: 70",
          from!,
          `To: <sip:100@${ext.host}>`,
          callId!,
          "CSeq: 1 INVITE",
          `Contact: <sip:evil@${phone.host}:${phone.port}>`,
        ),
        ext,
      );
      await pbx.expect((msg) => isRequest("INVITE", 1)(msg) && msg.fromTag === "evil", "INVITE");
      for (let k = 1; k <= 3; k++) {
        await phone.send(
          lines(
            "SIP/2.0 200 OK",
            `Via: SIP/2.0/UDP ${int.host}:${int.port};branch=${head}${(n + k).toString(36)}`,
            via!,
            from!,
            `To: <sip:100@${ext.host}>;tag=forged`,
            callId!,
            "CSeq: 1 INVITE",
            `Contact: <sip:victim@${VICTIM}:${victimPort}>`,
          ),
          ext,
        );
      }
      await sleep(300);
      // 3. In the dialog it forged, the attacker's request goes to the Contact it forged.
      await phone.send(
        lines(
          `INFO sip:100@${ext.host}:${ext.port} SIP/2.0`,
          `Via: SIP/2.0/UDP ${phone.host}:${phone.port};branch=z9hG4bK-evilinfo;rport`,
          `Route: <sip:${ext.host}:${ext.port};lr>`,
          "Max-Forwards: 70",
          from!,
          `To: <sip:100@${ext.host}>;tag=forged`,
          callId!,
          "CSeq: 2 INFO",
        ),
        ext,
      );
      await sleep(1_000);
    } finally {
      await victim.close();
    }
    assert.deepEqual(victim.got, [], "the victim inside received something from the SBC");
  });
});

Deno.test("refused edge attack: the PBX's SDP in its 200 to an OPTIONS leaves by the external interface unrewritten", async () => {
  const ports = usingPorts(59);
  await withSbc({ ports }, async () => {
    await using phone = new SipEndpoint(ADDRESS.phone, ports.phone);
    await using pbx = new SipEndpoint(ADDRESS.pbx, ports.pbx);
    const sbc = { host: ADDRESS.external, port: ports.sbc };
    await phone.send(
      lines(
        `OPTIONS sip:100@${sbc.host}:${sbc.port} SIP/2.0`,
        `Via: SIP/2.0/UDP ${phone.host}:${phone.port};branch=z9hG4bK-opt1;rport`,
        "Max-Forwards: 70",
        `From: <sip:caller@${phone.host}>;tag=opt`,
        `To: <sip:100@${sbc.host}>`,
        "Call-ID: options-probe@example.com",
        "CSeq: 1 OPTIONS",
        "Accept: application/sdp",
      ),
      sbc,
    );
    const options = await pbx.expect(isRequest("OPTIONS", 1), "the OPTIONS");
    // RFC 3261 §11.2: an answer to OPTIONS may describe the media it would offer.
    const sdp = [
      "v=0",
      `o=pbx 1 1 IN IP4 ${ADDRESS.pbx}`,
      "s=-",
      `c=IN IP4 ${ADDRESS.pbx}`,
      "t=0 0",
      "m=audio 0 RTP/AVP 0 8",
      "",
    ].join("\r\n");
    await respond(pbx, options.msg, 200, "OK", { toTag: "pbxopt", body: sdp });
    const ok = await phone.expect(isResponse("OPTIONS", 1, 200), "the 200");
    assert.doesNotMatch(ok.msg.body, /127\.0\.2\./, `the inside shows outside:\n${ok.msg.body}`);
  });
});
