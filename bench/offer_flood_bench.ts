/**
 * Does opening media ports hold up signalling? OPTIONS round trips to the SBC, from one address,
 * while another address sends INVITEs with SDP that the PBX refuses at once (486): every offer
 * opens and closes its relay sockets, the work an offer flood makes. Compared with the same
 * OPTIONS and no flood, in one run.
 *
 *   npx deno run -A bench/offer_flood_bench.ts [--rate 200] [--seconds 5] [--streams 1]
 */
import { parseArgs } from "node:util";
import { ADDRESS, optionsRequest, sleep, usingPorts, withSbc } from "../test/e2e/_harness.ts";
import { mediaConfig, sdpBody } from "../test/e2e/_media.ts";
import { isRequest, respond, sendInvite, SipEndpoint } from "../test/e2e/_sip_peer.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rate: { type: "string", default: "200" },
    seconds: { type: "string", default: "5" },
    streams: { type: "string", default: "1" },
  },
});
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const STREAMS = Number(values.streams);

/** OPTIONS round trips (ms) from `prober`, one every 10 ms, while `during` runs. */
async function probe(prober: SipEndpoint, sbc: { host: string; port: number }, ms: number) {
  const rtts: number[] = [];
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const text = optionsRequest(sbc.host, sbc.port, prober);
    const callId = /Call-ID: (\S+)/.exec(text)![1]!;
    const sent = performance.now();
    await prober.send(text, sbc);
    await prober.expect((m) => m.status === 200 && m.callId === callId, "200 to OPTIONS", 2_000);
    rtts.push(performance.now() - sent);
    await sleep(10);
  }
  return rtts;
}

function percentiles(list: number[]): string {
  const sorted = [...list].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  return `median ${(at(0.5) * 1000).toFixed(0)} µs, p99 ${(at(0.99) * 1000).toFixed(0)} µs, ` +
    `max ${(at(1) * 1000).toFixed(0)} µs (${sorted.length} probes)`;
}

const ports = usingPorts(70);
const configToml = mediaConfig(ports).replace(
  "[pbx]",
  "max_offers_per_source = 1000000\n\n[sip]\nrate_limit = 1000000\n\n[pbx]",
);
await withSbc({ ports, configToml }, async () => {
  await using prober = new SipEndpoint(ADDRESS.phone, ports.phone);
  await using flooder = new SipEndpoint("127.0.1.99", 0);
  await using pbx = new SipEndpoint(ADDRESS.pbx, ports.pbx);
  const sbc = { host: ADDRESS.external, port: ports.sbc };
  const quiet = await probe(prober, sbc, SECONDS * 1000);

  let running = true;
  let offers = 0;
  const refuser = (async () => {
    while (running) {
      const invite = await pbx.expect(isRequest("INVITE", 1), "INVITE", 500).catch(() => undefined);
      if (invite) await respond(pbx, invite.msg, 486, "Busy Here", { toTag: "busy" });
    }
  })();
  const flood = (async () => {
    const body = sdpBody({
      address: "127.0.1.99",
      media: Array.from(
        { length: STREAMS },
        (_, i) => ({ type: "audio" as const, port: 50000 + 2 * i }),
      ),
    });
    const start = performance.now();
    while (running) {
      await sendInvite(flooder, sbc, body);
      offers++;
      const due = start + (offers * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
    }
  })();
  const busy = await probe(prober, sbc, SECONDS * 1000);
  running = false;
  await Promise.all([flood, refuser]);
  console.log(`offer flood: ${offers} INVITEs in ${SECONDS} s, ${STREAMS} m= line(s) each`);
  console.log(`OPTIONS without flood: ${percentiles(quiet)}`);
  console.log(`OPTIONS during flood:  ${percentiles(busy)}`);
});
