// A descriptor-starved SBC (issue "No outsider can take ... the SBC's resources"): started with
// `ulimit -n 512`, it fits its media range to what the limit leaves after SIP's reserve and says
// so; then an outsider holds every relay port with unanswered offers and opens TCP connections
// past the caps, and the SBC still answers on UDP, on TCP and on the admin API.
import assert from "node:assert/strict";
import {
  ADDRESS,
  adminGet,
  optionsOverTcp,
  sleep,
  usingPorts,
  waitForOptionsReply,
  withSbc,
} from "./_harness.ts";
import { mediaConfig, sdpBody } from "./_media.ts";
import { isResponse, sendInvite, SipEndpoint } from "./_sip_peer.ts";

Deno.test("an SBC with 512 descriptors keeps answering on UDP, TCP and the admin API under a port and connection flood", async () => {
  const ports = usingPorts(66);
  const [low] = ports.mediaRange;
  // A range far past the limit (1,000 ports per address), TCP reserve 64 + 256.
  const configToml = mediaConfig(ports, { mediaRange: [low, low + 999] })
    .replace('sip = ["udp:127.0.1.1:', 'sip = ["tcp:127.0.1.1:' + ports.sbc + '", "udp:127.0.1.1:')
    .replace("[pbx]", "max_offers_per_source = 100000\n\n[sip]\nmax_tcp_connections = 64\n\n[pbx]");
  const launch = {
    program: "sh",
    args: ["-c", 'ulimit -n 512 && exec "$@"', "sh", Deno.execPath(), "run", "-A", "main.ts"],
  };
  await withSbc({ ports, configToml, launch }, async (sbc) => {
    assert.match(await sbc.logs(), /open-file limit is 512: relaying on \d+-\d+/);
    await using flooder = new SipEndpoint("127.0.1.99", 0);
    // The PBX listens and never answers: the flood's offers stay unanswered.
    await using _pbx = new SipEndpoint(ADDRESS.pbx, ports.pbx);
    const sbcAddress = { host: ADDRESS.external, port: ports.sbc };
    // Every relay port held by offers nobody answers (bounded: 200 INVITEs).
    for (let i = 0; i < 200; i++) {
      await sendInvite(
        flooder,
        sbcAddress,
        sdpBody({
          address: "127.0.1.99",
          media: [{ type: "audio", port: 50000 }],
        }),
      );
      if (i % 20 === 19) await sleep(5);
    }
    await flooder.expect(isResponse("INVITE", 1, 503), "503 once the ports are gone", 5_000);
    // 100 TCP connections from one address: past the caps, closed at once.
    const conns: Deno.TcpConn[] = [];
    try {
      for (let i = 0; i < 100; i++) {
        conns.push(
          await Deno.connect({ hostname: ADDRESS.external, port: ports.sbc, transport: "tcp" }),
        );
      }
      await waitForOptionsReply(ADDRESS.external, ports.sbc, { timeoutMs: 3_000 });
      const stats = await adminGet(ports, "/api/stats") as { sip: { tcpRefused: number } };
      assert.ok(stats.sip.tcpRefused >= 60, JSON.stringify(stats.sip));
    } finally {
      for (const c of conns) c.close();
    }
    await sleep(300);
    assert.ok(await optionsOverTcp(ports.sbc), "OPTIONS over TCP after the flood");
    assert.doesNotMatch(await sbc.logs(), /Too many open files|Uncaught/);
  });
});
