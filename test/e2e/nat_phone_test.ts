// A phone behind NAT (issue "The external side speaks to the internet", part 1): its Contact
// names a private address it cannot be reached at, its SIP comes from the NAT's public one. The
// PBX's in-dialog requests (a re-INVITE, the BYE) must reach the phone where its SIP comes from;
// on the previous tree the BYE went to the private Contact six times and the phone never heard it.
import assert from "node:assert/strict";
import { ADDRESS, usingPorts, withSbc } from "./_harness.ts";
import { mediaConfig, sdpBody } from "./_media.ts";
import {
  calleeDialog,
  isRequest,
  isResponse,
  respond,
  sendInDialog,
  SipEndpoint,
} from "./_sip_peer.ts";

const PRIVATE = "10.0.0.5";

Deno.test("the PBX's re-INVITE and BYE reach a phone behind NAT, not its private Contact", async () => {
  const ports = usingPorts(69);
  await withSbc({ ports, configToml: mediaConfig(ports) }, async () => {
    await using phone = new SipEndpoint(ADDRESS.phone, ports.phone);
    await using pbx = new SipEndpoint(ADDRESS.pbx, ports.pbx);
    const sbc = { host: ADDRESS.external, port: ports.sbc };
    const audio = (address: string, port: number, version = 1) =>
      sdpBody({ address, version, media: [{ type: "audio", port }] });
    const offer = audio(PRIVATE, 40000);
    // The phone writes its private address everywhere, as a phone behind NAT does.
    await phone.send(
      [
        `INVITE sip:100@${sbc.host}:${sbc.port} SIP/2.0`,
        `Via: SIP/2.0/UDP ${PRIVATE}:5062;branch=z9hG4bK-nat1;rport`,
        "Max-Forwards: 70",
        `From: <sip:alice@${PRIVATE}>;tag=nat1`,
        `To: <sip:100@${sbc.host}>`,
        `Call-ID: nat1@${PRIVATE}`,
        "CSeq: 1 INVITE",
        `Contact: <sip:alice@${PRIVATE}:5062>`,
        "Content-Type: application/sdp",
        `Content-Length: ${offer.length}`,
        "",
        offer,
      ].join("\r\n"),
      sbc,
    );
    const invite = await pbx.expect(isRequest("INVITE", 1), "the INVITE");
    await respond(pbx, invite.msg, 200, "OK", { toTag: "pbxnat", body: audio(ADDRESS.pbx, 41000) });
    const ok = await phone.expect(isResponse("INVITE", 1, 200), "the 200");
    const route = ok.msg.headers.filter((h) => h.name === "record-route").map((h) => h.value);
    await phone.send(
      [
        `ACK sip:100@${sbc.host}:${sbc.port} SIP/2.0`,
        `Via: SIP/2.0/UDP ${PRIVATE}:5062;branch=z9hG4bK-nat1ack;rport`,
        ...route.map((r) => `Route: ${r}`),
        "Max-Forwards: 70",
        `From: <sip:alice@${PRIVATE}>;tag=nat1`,
        `To: <sip:100@${sbc.host}>;tag=pbxnat`,
        `Call-ID: nat1@${PRIVATE}`,
        "CSeq: 1 ACK",
        "Content-Length: 0",
        "",
        "",
      ].join("\r\n"),
      sbc,
    );
    await pbx.expect(isRequest("ACK", 1), "the ACK");

    // The PBX puts the call on hold, then hangs up, towards the phone's private Contact.
    const pbxSide = calleeDialog(pbx, invite.msg, "pbxnat");
    assert.equal(pbxSide.remoteTarget, `sip:alice@${PRIVATE}:5062`);
    await sendInDialog(pbxSide, "INVITE", audio(ADDRESS.pbx, 41000, 2));
    const reinvite = await phone.expect(isRequest("INVITE", 1), "the PBX's re-INVITE at the phone");
    await respond(phone, reinvite.msg, 200, "OK", { body: audio(PRIVATE, 40000, 2) });
    await pbx.expect(isResponse("INVITE", pbxSide.cseq, 200), "200 to the re-INVITE");
    await sendInDialog(pbxSide, "ACK");
    const bye = await sendInDialog(pbxSide, "BYE");
    const atPhone = await phone.expect(isRequest("BYE"), "the BYE at the phone");
    await respond(phone, atPhone.msg, 200, "OK");
    await pbx.expect(isResponse("BYE", bye.cseq, 200), "200 to the BYE");
  });
});
