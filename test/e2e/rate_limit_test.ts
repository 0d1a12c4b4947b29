// A flood of SIP from one outside address (issue "No outsider can take ... the SBC's
// resources"): past sip.rate_limit the address is banned, dropped unparsed and logged once, while
// a call from another address goes through; bounded in count and time.
import assert from "node:assert/strict";
import { ADDRESS, optionsRequest, sbcConfig, sleep, usingPorts, withSbc } from "./_harness.ts";
import { sdpBody } from "./_media.ts";
import { establishCall, hangUp, SipEndpoint } from "./_sip_peer.ts";

const FLOODER = "127.0.1.77";

Deno.test("an address flooding OPTIONS is banned, logged once, and a call from elsewhere goes through", async () => {
  const ports = usingPorts(64);
  const configToml = sbcConfig(ports) + "\n[sip]\nrate_limit = 100\nban_time = 30\n";
  await withSbc({ ports, configToml }, async (sbc) => {
    await using phone = new SipEndpoint(ADDRESS.phone, ports.phone);
    await using pbx = new SipEndpoint(ADDRESS.pbx, ports.pbx);
    await using flooder = new SipEndpoint(FLOODER, 0);
    const sbcAddress = { host: ADDRESS.external, port: ports.sbc };
    // 1,000 OPTIONS to the SBC in well under a second: ten times the limit.
    for (let i = 0; i < 1000; i++) {
      await flooder.send(optionsRequest(ADDRESS.external, ports.sbc, flooder), sbcAddress);
    }
    await sleep(300);
    const logs = await sbc.logs();
    assert.equal(logs.match(/Banning 127\.0\.1\.77/g)?.length, 1, logs);
    // At most the limit's worth was answered; the rest never reached the parser.
    const answered = flooder.log.filter(({ msg }) => msg.status === 200).length;
    assert.ok(answered > 0 && answered <= 100, `${answered} OPTIONS answered`);
    // A call from another address is not affected.
    const audio = (address: string, port: number) =>
      sdpBody({ address, media: [{ type: "audio", port }] });
    const call = await establishCall(
      phone,
      pbx,
      sbcAddress,
      audio(ADDRESS.phone, ports.phoneMedia),
      audio(ADDRESS.pbx, ports.pbxMedia),
    );
    await hangUp(call.caller, call.callee);
  });
});
