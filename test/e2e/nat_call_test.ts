// Whole calls with a phone behind NAT (issue "The external side speaks to the internet", part 1):
// the phone writes a private address in its Via, Contact and SDP, while its SIP and RTP come from
// the NAT's public address and other ports. Calls both ways carry audio both ways and end from
// either side; the PBX reaches the registered phone over UDP and over the phone's own TCP
// connection, and every media port is freed at the end.
import { ADDRESS, usingPorts, withSbc } from "./_harness.ts";
import { mediaConfig } from "./_media.ts";
import { natCalls, PRIVATE } from "./_nat_calls.ts";
import { SipEndpoint, SipStreamEndpoint } from "./_sip_peer.ts";

Deno.test("calls with a phone behind NAT over UDP: audio both ways, ended from either side", async () => {
  const ports = usingPorts(72);
  await withSbc({ ports, configToml: mediaConfig(ports) }, async () => {
    await using phone = new SipEndpoint(ADDRESS.phone, ports.phone, { advertised: PRIVATE });
    await natCalls(ports, phone, "UDP");
  });
});

Deno.test("calls with a phone behind NAT over TCP: the PBX's INVITE comes over the phone's connection", async () => {
  const ports = usingPorts(73);
  await withSbc({ ports, configToml: mediaConfig(ports, { tcp: true }) }, async () => {
    await using phone = await SipStreamEndpoint.connect(
      ADDRESS.phone,
      { host: ADDRESS.external, port: ports.sbc },
      { advertised: PRIVATE },
    );
    await natCalls(ports, phone, "TCP");
  });
});
