// Real phones over TLS with SRTP (issue "The external side speaks to the internet", parts 2 and
// 3): a baresip phone outside speaks SIP over TLS and SRTP (mediaenc=srtp-mand) to the SBC; a
// baresip PBX inside speaks UDP and plain RTP. Each hears the other's tone (decoded, its
// frequency checked), and a capture shows SRTP only outside and RTP only inside.
import assert from "node:assert/strict";
import { ADDRESS, type Ports, sleep, usingPorts, withSbc } from "./_harness.ts";
import { type CapturedPacket, mediaConfig, RtpEndpoint, sdpBody, startCapture } from "./_media.ts";
import {
  callerDialog,
  isRequest,
  isResponse,
  respond,
  sendInDialog,
  sendInvite,
  SipEndpoint,
} from "./_sip_peer.ts";
import { getHeaderValues } from "../../sbc/message/message.ts";
import { type Baresip, startBaresip } from "./_baresip.ts";
import { makeTlsCerts, type TlsCerts } from "./_tls_certs.ts";
import { detectWavFrequency } from "./_tone.ts";

const PHONE_TONE = 1000;
const PBX_TONE = 1500;

/** The outside phone: TLS to the SBC, SRTP mandatory. */
function phone(ports: Ports, certs: TlsCerts, regint = 0): Promise<Baresip> {
  return startBaresip({
    name: "phone",
    host: ADDRESS.phone,
    sipPort: ports.phone,
    controlPort: ports.phoneControl,
    rtpPorts: [ports.phoneMedia, ports.phoneMedia + 3],
    toneHz: PHONE_TONE,
    account: {
      aor: `sip:alice@${ADDRESS.external}`,
      outbound: `sip:${ADDRESS.external}:${ports.sbcTls};transport=tls`,
      mediaenc: "srtp-mand",
      regint,
    },
    tls: { certificate: certs.client.pem, ca: certs.ca },
  });
}

/**
 * The PBX: UDP, plain RTP. baresip sends RTP from the wildcard address (127.0.0.1 on loopback),
 * so its SDP says 127.0.0.1 too: the relay takes media only from a party's own hosts.
 */
function pbx(ports: Ports): Promise<Baresip> {
  return startBaresip({
    name: "pbx",
    host: ADDRESS.pbx,
    sipPort: ports.pbx,
    controlPort: ports.pbxControl,
    rtpPorts: [ports.pbxMedia, ports.pbxMedia + 3],
    toneHz: PBX_TONE,
    account: { aor: `sip:pbx@${ADDRESS.pbx}:${ports.pbx}` },
    config: { net_interface: "127.0.0.1" },
  });
}

async function assertHears(who: Baresip, hz: number): Promise<void> {
  const tone = await detectWavFrequency(await who.recordedWav());
  assert.equal(tone.frequency, hz, `${who.name} heard ${JSON.stringify(tone)}`);
  assert.ok(tone.share > 0.9, `${who.name}: not a clean tone: ${JSON.stringify(tone)}`);
  assert.ok(tone.audibleSeconds >= 1, `${who.name}: too little audio: ${JSON.stringify(tone)}`);
}

/** RTP (even ports) the SBC sent or received on `address`. */
function rtpAt(packets: CapturedPacket[], address: string): CapturedPacket[] {
  return packets.filter((p) =>
    (p.src === address && p.srcPort % 2 === 0) || (p.dst === address && p.dstPort % 2 === 0)
  );
}

Deno.test("baresip over TLS with SRTP calls a plain-RTP baresip PBX: both hear, SRTP only outside", async () => {
  const ports = usingPorts(79);
  await using certs = await makeTlsCerts({ ips: [ADDRESS.external, ADDRESS.phone] });
  const configToml = mediaConfig(ports, {
    tls: certs.server,
    external: { srtp: "mandatory" },
  });
  await withSbc({ ports, configToml }, async (sbc) => {
    await using inside = await pbx(ports);
    await using outside = await phone(ports, certs);
    const [min, max] = ports.mediaRange;
    const capture = await startCapture(`udp portrange ${min}-${max + 1}`, 20);
    await outside.dial(`sip:pbx@${ADDRESS.external}`);
    await outside.waitForEvent("CALL_ESTABLISHED", 8_000);
    await inside.waitForEvent("CALL_ESTABLISHED");
    await sleep(2_500);
    await outside.hangup();
    await outside.waitForEvent("CALL_CLOSED");
    await inside.waitForEvent("CALL_CLOSED");
    const packets = await capture.stop();

    await assertHears(outside, PBX_TONE);
    await assertHears(inside, PHONE_TONE);
    // G.711 20 ms: 160 bytes of audio, 12 of RTP header; SRTP adds an 80-bit tag (UDP +8).
    const outsideRtp = rtpAt(packets, ADDRESS.external);
    const insideRtp = rtpAt(packets, ADDRESS.internal);
    assert.ok(outsideRtp.length > 50 && insideRtp.length > 50, `${packets.length} packets`);
    assert.deepEqual(new Set(outsideRtp.map((p) => p.length)), new Set([190]), "SRTP outside");
    assert.deepEqual(new Set(insideRtp.map((p) => p.length)), new Set([180]), "RTP inside");
    const invite = (await outside.sipTrace()).find((m) => m.text.startsWith("INVITE "));
    assert.equal(invite?.transport, "TLS");
    assert.doesNotMatch(await sbc.logs(), /srtp\.(refused|answer)/);
  });
});

Deno.test("baresip registers over TLS; the PBX's call reaches it over that connection, its SRTP arrives as RTP", async () => {
  const ports = usingPorts(80);
  await using certs = await makeTlsCerts({ ips: [ADDRESS.external, ADDRESS.phone] });
  const configToml = mediaConfig(ports, {
    tls: certs.server,
    external: { srtp: "mandatory" },
  });
  await withSbc({ ports, configToml }, async () => {
    await using registrar = new SipEndpoint(ADDRESS.pbx, ports.pbx);
    await using pbxRtp = new RtpEndpoint(ADDRESS.pbx, ports.pbxMedia);
    await using outside = await phone(ports, certs, 60);
    const register = await registrar.expect(isRequest("REGISTER"), "the REGISTER");
    const contact = getHeaderValues(register.msg, "contact")[0]!;
    await respond(registrar, register.msg, 200, "OK", { headers: [`Contact: ${contact}`] });
    await outside.waitForEvent("REGISTER_OK");
    const path = getHeaderValues(register.msg, "path");
    assert.match(path.join(","), /;received=sip:127\.0\.0\.1:\d+%3Btransport%3Dtls/);

    // The PBX calls the registered Contact through the Path.
    const target = /<([^>]+)>/.exec(contact)![1]!;
    const sbcInside = { host: ADDRESS.internal, port: ports.sbc };
    const offer = sdpBody({
      address: ADDRESS.pbx,
      media: [{ type: "audio", port: ports.pbxMedia }],
    })
      .replace(/^m=audio (\d+) RTP\/AVP .*$/m, "m=audio $1 RTP/AVP 8");
    const invite = await sendInvite(registrar, sbcInside, offer, target, path);
    const ok = await registrar.expect(isResponse("INVITE", 1, 200), "200 from the phone", 8_000);
    assert.match(ok.msg.body, /^m=audio \d+ RTP\/AVP /m, "plain RTP inside");
    assert.doesNotMatch(ok.msg.body, /a=crypto/);
    const dialog = callerDialog(registrar, invite, ok.msg);
    await sendInDialog(dialog, "ACK");
    await outside.waitForEvent("CALL_ESTABLISHED");
    // The phone's SRTP reaches the PBX decrypted: RTP, PCMA, 160 bytes of audio each.
    await pbxRtp.waitFor((r) => r.length >= 25, "the phone's audio at the PBX", 4_000);
    const sizes = new Set(pbxRtp.received.map((p) => `${p.payloadType}/${p.size}`));
    assert.deepEqual(sizes, new Set(["8/172"]));
    const bye = await sendInDialog(dialog, "BYE");
    await registrar.expect(isResponse("BYE", bye.cseq, 200), "200 to the BYE");
    await outside.waitForEvent("CALL_CLOSED");
  });
});
