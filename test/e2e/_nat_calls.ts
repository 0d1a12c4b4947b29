/**
 * Whole calls with a phone behind NAT, over whatever carries the phone's SIP (UDP, its own TCP or
 * TLS connection): the phone writes a private address in its Via, Contact and SDP, while its SIP
 * and RTP come from the NAT's public address and other ports. Shared by the NAT and TLS tests.
 */
import assert from "node:assert/strict";
import { ADDRESS, type Ports } from "./_harness.ts";
import { relayPorts, RtpEndpoint, sdpBody, waitForMediaStats } from "./_media.ts";
import {
  type Call,
  establishCall,
  hangUp,
  register,
  type SipAddress,
  SipEndpoint,
  type SipParty,
} from "./_sip_peer.ts";

export const PRIVATE = { host: "10.0.0.5", port: 5062 };
const PRIVATE_RTP = 40000;

const audio = (address: string, port: number) =>
  sdpBody({ address, media: [{ type: "audio", port }] });

/** RTP both ways: the phone first (as a NATed phone must, to open its binding), then the PBX. */
async function audioBothWays(
  call: Call,
  phoneIsCaller: boolean,
  phoneRtp: RtpEndpoint,
  pbxRtp: RtpEndpoint,
  ssrc: number,
): Promise<void> {
  const [atPhone, atPbx] = phoneIsCaller
    ? [call.answerAtCaller, call.offerAtCallee]
    : [call.offerAtCallee, call.answerAtCaller];
  const outside = { hostname: ADDRESS.external, port: relayPorts(atPhone)[0]! };
  const inside = { hostname: ADDRESS.internal, port: relayPorts(atPbx)[0]! };
  await phoneRtp.send(outside, { ssrc, count: 5, intervalMs: 10 });
  await pbxRtp.expectStream(ssrc, 5, `${inside.hostname}:${inside.port}`, "the phone's audio");
  await pbxRtp.send(inside, { ssrc: ssrc + 1, count: 5, intervalMs: 10 });
  await phoneRtp.expectStream(
    ssrc + 1,
    5,
    `${outside.hostname}:${outside.port}`,
    "the PBX's audio at the NAT's public port",
  );
}

/**
 * The phone calls the PBX and hangs up; then it registers, and the PBX calls its private Contact
 * through the Path and hangs up. Audio both ways each time; every media port freed at the end.
 */
export async function natCalls(ports: Ports, phone: SipParty, label: string): Promise<void> {
  const sbcOutside: SipAddress = { host: ADDRESS.external, port: ports.sbc };
  const sbcInside: SipAddress = { host: ADDRESS.internal, port: ports.sbc };
  await using pbx = new SipEndpoint(ADDRESS.pbx, ports.pbx);
  // The NAT's public RTP port: nothing like the private one the SDP names.
  await using phoneRtp = new RtpEndpoint(ADDRESS.phone, ports.phoneMedia);
  await using pbxRtp = new RtpEndpoint(ADDRESS.pbx, ports.pbxMedia);
  const phoneSdp = audio(PRIVATE.host, PRIVATE_RTP);
  const pbxSdp = audio(ADDRESS.pbx, ports.pbxMedia);

  // The phone calls and hangs up.
  const out = await establishCall(phone, pbx, sbcOutside, phoneSdp, pbxSdp);
  await audioBothWays(out, true, phoneRtp, pbxRtp, 0x1000);
  await hangUp(out.caller, out.callee);
  await waitForMediaStats(ports, (m) => m.sessions === 0, `${label}: media freed after the call`);

  // The phone registers; the PBX calls its private Contact through the Path, and hangs up.
  const registered = await register(phone, sbcOutside, pbx, "alice");
  const path = registered.headers.filter((h) => h.name === "path").map((h) => h.value);
  assert.equal(path.length, 1, `${label}: one Path entry`);
  const contact = `sip:alice@${PRIVATE.host}:${PRIVATE.port}`;
  const inbound = await establishCall(pbx, phone, sbcInside, pbxSdp, phoneSdp, contact, path);
  await audioBothWays(inbound, false, phoneRtp, pbxRtp, 0x2000);
  await hangUp(inbound.caller, inbound.callee);
  await waitForMediaStats(
    ports,
    (m) => m.sessions === 0 && m.portsInUse === 0,
    `${label}: every media port freed`,
  );
}
