// Topology hiding (issue "The edge holds"): a capture of everything the SBC sends from its
// external address, over calls both ways with a re-INVITE to hold, BYEs from either side, a
// CANCEL and a REGISTER, must name no inside address, while every one of those flows completes.
// The PBX peer writes its inside address everywhere a PBX does: Via, Contact, From, Call-ID, o=.
import assert from "node:assert/strict";
import { ADDRESS, sleep, timer, usingPorts, withSbc } from "./_harness.ts";
import { mediaConfig, sdpBody } from "./_media.ts";
import {
  establishCall,
  hangUp,
  isRequest,
  isResponse,
  reInvite,
  respond,
  sendCancel,
  sendInvite,
  SipEndpoint,
} from "./_sip_peer.ts";

const INSIDE = "127.0.2.";

/**
 * tshark on `lo` writing every packet sent from `host` to a pcap file, until stopped or `seconds`
 * pass; stop() returns the file as latin1 text (SIP and SDP are text; headers are binary).
 */
async function captureFrom(host: string, seconds: number): Promise<() => Promise<string>> {
  const dir = await Deno.makeTempDir({ prefix: "edgesbc-topo-" });
  const file = `${dir}/external.pcap`;
  const child = new Deno.Command("tshark", {
    args: [
      ...["-i", "lo", "-n", "-q", "-f", `src host ${host}`],
      ...["-a", `duration:${seconds}`, "-w", file],
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let said = "";
  const deadline = timer(10_000, undefined);
  while (!said.includes("Capturing on")) {
    const next = await Promise.race([reader.read(), deadline.promise]);
    if (next === undefined || next.done) throw new Error(`tshark did not start: ${said}`);
    said += next.value;
  }
  deadline.clear();
  await sleep(1000); // tshark says so a moment before its filter is in place
  const draining = (async () => {
    while (!(await reader.read()).done);
  })();
  return async () => {
    await sleep(500); // the last packets reach the capture
    try {
      child.kill("SIGINT");
    } catch {
      // the duration ended it
    }
    await child.status;
    await draining;
    const text = new TextDecoder("latin1").decode(await Deno.readFile(file));
    await Deno.remove(dir, { recursive: true });
    return text;
  };
}

Deno.test("nothing the SBC sends outside names an inside address, and every call flow still works", async () => {
  const ports = usingPorts(57);
  const configToml = mediaConfig(ports, { internal: { networks: ["127.0.2.0/24"] } });
  await withSbc({ ports, configToml }, async () => {
    await using phone = new SipEndpoint(ADDRESS.phone, ports.phone);
    await using pbx = new SipEndpoint(ADDRESS.pbx, ports.pbx);
    const external = { host: ADDRESS.external, port: ports.sbc };
    const internal = { host: ADDRESS.internal, port: ports.sbc };
    const sdp = (address: string, port: number, version = 1, direction?: "sendonly") =>
      sdpBody({
        address,
        version,
        media: [{ type: "audio", port, connection: address, ...(direction && { direction }) }],
      });
    const stop = await captureFrom(ADDRESS.external, 60);

    // A call from outside; the PBX puts it on hold and hangs up.
    const inbound = await establishCall(
      phone,
      pbx,
      external,
      sdp(ADDRESS.phone, ports.phoneMedia),
      sdp(ADDRESS.pbx, ports.pbxMedia),
    );
    const hold = await reInvite(
      inbound.callee,
      inbound.caller,
      sdp(ADDRESS.pbx, ports.pbxMedia, 2, "sendonly"),
      { answer: sdp(ADDRESS.phone, ports.phoneMedia, 2) },
    );
    assert.equal(hold.status, 200);
    await hangUp(inbound.callee, inbound.caller);

    // A call from the PBX out; the phone re-INVITEs and hangs up.
    const outbound = await establishCall(
      pbx,
      phone,
      internal,
      sdp(ADDRESS.pbx, ports.pbxMedia),
      sdp(ADDRESS.phone, ports.phoneMedia),
      `sip:bob@${ADDRESS.phone}:${ports.phone}`,
    );
    const again = await reInvite(
      outbound.callee,
      outbound.caller,
      sdp(ADDRESS.phone, ports.phoneMedia, 2),
      { answer: sdp(ADDRESS.pbx, ports.pbxMedia, 2) },
    );
    assert.equal(again.status, 200);
    await hangUp(outbound.callee, outbound.caller);

    // A call from the PBX that rings and is cancelled.
    const ringing = await sendInvite(
      pbx,
      internal,
      sdp(ADDRESS.pbx, ports.pbxMedia),
      `sip:bob@${ADDRESS.phone}:${ports.phone}`,
    );
    const atPhone = await phone.expect(isRequest("INVITE", 1), "the ringing INVITE");
    await respond(phone, atPhone.msg, 180, "Ringing", { toTag: "ring1" });
    await pbx.expect(isResponse("INVITE", 1, 180), "180");
    await sendCancel(pbx, ringing);
    await pbx.expect(isResponse("CANCEL", 1, 200), "200 to the CANCEL");
    const cancel = await phone.expect(isRequest("CANCEL", 1), "the CANCEL");
    await respond(phone, cancel.msg, 200, "OK");
    await respond(phone, atPhone.msg, 487, "Request Terminated", { toTag: "ring1" });
    await pbx.expect(isResponse("INVITE", 1, 487), "487");

    const sent = await stop();
    // The capture saw what the phone got: every Call-ID and branch of it.
    for (const { msg } of phone.log) {
      assert.ok(sent.includes(msg.callId), `the capture lacks ${msg.callId}`);
      assert.ok(sent.includes(msg.vias[0]!.branch!), `the capture lacks ${msg.vias[0]!.branch}`);
    }
    const at = sent.indexOf(INSIDE);
    assert.equal(at, -1, `an inside address left: ${sent.slice(Math.max(0, at - 300), at + 100)}`);
  });
});
