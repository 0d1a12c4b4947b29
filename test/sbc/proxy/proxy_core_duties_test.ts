// A proxy's duties to the PBX as the proxy core performs them (RFC 3261 §16.3, RFC 4475): what it
// must not pass on is refused before any routing, and what it passes on leaves in canonical form.
import assert from "node:assert/strict";
import { getHeaderValues } from "../../../sbc/message/message.ts";
import type { RequestRoute } from "../../../sbc/proxy/context.ts";
import { bridgePipeline } from "../../../sbc/proxy/pipeline.ts";
import { defaultConfig } from "../../../config/default.ts";
import { ProxyCore } from "../../../sbc/proxy/proxy_core.ts";
import { coreEnv, inbound, settle } from "../../kit/core_env.ts";
import { ManualClock } from "../../kit/manual_clock.ts";
import { recordingSend } from "../../kit/recording_send.ts";
import { answer, PBX, PHONE, request } from "../../kit/phone_and_pbx.ts";

/** The bridge pipeline, counting the requests it routes. */
function countingRoute(): { route: RequestRoute; routed: string[] } {
  const routed: string[] = [];
  const bridge = bridgePipeline();
  return {
    routed,
    route: (ctx, actions) => {
      routed.push(ctx.msg.method);
      return bridge(ctx, actions);
    },
  };
}

Deno.test("ProxyCore answers 420 to an INVITE with Proxy-Require before routing it", async () => {
  const { route, routed } = countingRoute();
  const env = coreEnv({ route });
  const extra = ["Proxy-Require: foo, bar"];
  await env.receive("external", PHONE, request("INVITE", { extra }));
  const out = env.take();
  assert.deepEqual(out.map((s) => [s.target.side, s.msg.status]), [
    ["external", 100],
    ["external", 420],
  ]);
  const refusal = out[1]!.msg;
  assert.equal(refusal.reason, "Bad Extension");
  assert.deepEqual(getHeaderValues(refusal, "unsupported"), ["foo", "bar"]);
  assert.ok(refusal.toTag, "a To tag (RFC 3261 §8.2.6.2)");
  assert.deepEqual(routed, [], "the route never ran");
  assert.equal(env.core.counters.rejected, 1);
  // The ACK for the 420 ends the server transaction here; nothing goes to the PBX.
  await env.receive("external", PHONE, request("ACK", { toTag: refusal.toTag, extra }));
  assert.deepEqual(env.take(), []);
  env.finish();
});

Deno.test("ProxyCore answers 420 to a request from the PBX with Proxy-Require", async () => {
  const { route, routed } = countingRoute();
  const env = coreEnv({ route });
  await env.receive(
    "internal",
    PBX,
    request("OPTIONS", {
      uri: "sip:alice@192.0.2.50:5062",
      extra: ["Proxy-Require: foo"],
    }),
  );
  const out = env.take();
  assert.deepEqual(out.map((s) => [s.target.side, s.msg.status]), [["internal", 420]]);
  assert.deepEqual(getHeaderValues(out[0]!.msg, "unsupported"), ["foo"]);
  assert.deepEqual(routed, []);
  env.finish();
});

Deno.test("ProxyCore cancels an INVITE with a CANCEL that carries Proxy-Require (no 420)", async () => {
  const env = coreEnv();
  await env.receive("external", PHONE, request("INVITE"));
  const fwd = env.take()[1]!.msg;
  await env.receive("external", PHONE, request("CANCEL", { extra: ["Proxy-Require: foo"] }));
  assert.deepEqual(env.take().map((s) => s.msg.status), [200]);
  await env.receive("internal", PBX, answer(fwd, 180, "Ringing"));
  const sent = env.take();
  assert.deepEqual(sent.map((s) => [s.msg.method, s.msg.status]), [
    ["CANCEL", 0],
    ["INVITE", 180],
  ]);
  await env.receive("internal", PBX, answer(sent[0]!.msg, 200, "OK"));
  await env.receive("internal", PBX, answer(fwd, 487, "Request Terminated"));
  const upstream = env.take().filter((s) => s.target.side === "external");
  assert.deepEqual(upstream.map((s) => s.msg.status), [487]);
  env.finish();
});

Deno.test("ProxyCore forwards the ACK for a 2xx whatever its Proxy-Require (no 420)", async () => {
  const env = coreEnv();
  await env.receive("external", PHONE, request("INVITE"));
  const fwd = env.take()[1]!.msg;
  await env.receive("internal", PBX, answer(fwd, 200, "OK"));
  assert.deepEqual(env.take().map((s) => s.msg.status), [200]);
  await env.receive(
    "external",
    PHONE,
    request("ACK", {
      uri: "sip:100@127.0.2.10:5060",
      toTag: "pbx1",
      branch: "z9hG4bKack1",
      extra: [
        "Route: <sip:127.0.1.1:5060;lr>, <sip:127.0.2.1:5060;lr>",
        "Proxy-Require: foo",
      ],
    }),
  );
  const out = env.take();
  assert.deepEqual(out.map((s) => [s.target.side, s.msg.method]), [["internal", "ACK"]]);
  env.finish();
});

Deno.test("ProxyCore forwards a request line with runs of SP and HT as single SPs", async () => {
  const env = coreEnv();
  const text = request("INVITE").replace(
    "INVITE sip:100@127.0.1.1 SIP/2.0",
    "INVITE \t sip:100@127.0.1.1  \tSIP/2.0 ",
  );
  await env.receive("external", PHONE, text);
  const [trying, fwd] = env.take();
  assert.equal(trying?.msg.status, 100);
  assert.ok(fwd, "forwarded");
  assert.equal(fwd.target.side, "internal");
  assert.ok(fwd.text.startsWith("INVITE sip:100@127.0.1.1 SIP/2.0\r\n"), fwd.text);
  env.finish();
});

const EMBEDDED = "?Route=%3Csip:127.0.2.99;lr%3E&Subject=x";

Deno.test("ProxyCore forwards a Request-URI from outside to the PBX without its headers", async () => {
  const env = coreEnv();
  await env.receive("external", PHONE, request("INVITE", { uri: `sip:100@127.0.1.1${EMBEDDED}` }));
  const [, fwd, ...rest] = env.take();
  assert.deepEqual(rest, []);
  assert.ok(fwd, "forwarded");
  assert.deepEqual([fwd.target.side, fwd.target.dest], ["internal", PBX]);
  assert.equal(fwd.msg.uri, "sip:100@127.0.1.1");
  assert.deepEqual(getHeaderValues(fwd.msg, "route"), []);
  assert.deepEqual(getHeaderValues(fwd.msg, "subject"), []);
  env.finish();
});

Deno.test("ProxyCore routes a Request-URI from the PBX by its host, and forwards it without headers", async () => {
  const env = coreEnv();
  const uri = `sip:alice@192.0.2.50:5062${EMBEDDED}`;
  await env.receive("internal", PBX, request("OPTIONS", { uri }));
  const [fwd, ...rest] = env.take();
  assert.deepEqual(rest, []);
  assert.ok(fwd, "forwarded");
  assert.deepEqual([fwd.target.side, fwd.target.dest], ["external", PHONE]);
  assert.equal(fwd.msg.uri, "sip:alice@192.0.2.50:5062");
  assert.deepEqual(getHeaderValues(fwd.msg, "route"), []);
  env.finish();
});

Deno.test("ProxyCore shows the route a Request-URI without headers, and strips those it sets", async () => {
  const seen: string[] = [];
  const env = coreEnv({
    route: async (ctx, actions) => {
      seen.push(ctx.edits.findLast((e) => e.op === "set-uri")?.uri ?? ctx.msg.uri);
      ctx.edits.push({ op: "set-uri", uri: `sip:200@127.0.2.10${EMBEDDED}` });
      ctx.target = { out: "internal", uri: "sip:127.0.2.10", peer: PBX };
      await actions.relay(ctx);
    },
  });
  await env.receive("external", PHONE, request("INVITE", { uri: `sip:100@127.0.1.1${EMBEDDED}` }));
  assert.deepEqual(seen, ["sip:100@127.0.1.1"]);
  const [, fwd] = env.take();
  assert.equal(fwd?.msg.uri, "sip:200@127.0.2.10");
  env.finish();
});

Deno.test("ProxyCore answers 400 naming the header to a request it cannot pass on as it is", async (t) => {
  const cases: [string, string, string][] = [
    ["Contact", "Contact: <sip:alice@192.0.2.50:5062", "a Contact missing its '>'"],
    ["From", "From: Bell, Alexander <sip:alice@example.com>;tag=a1", "a comma in a bare name"],
    ["To", 'To: "unterminated <sip:100@127.0.1.1>', "an unterminated quote"],
    ["Record-Route", "Record-Route: garbage", "a Record-Route that is no name-addr"],
  ];
  for (const [name, line, what] of cases) {
    await t.step(what, async () => {
      // The 400 echoes the broken From or To, which the kit's parse() would refuse: keep the text.
      const { sent, send } = recordingSend();
      const { route, routed } = countingRoute();
      const clock = new ManualClock();
      const core = new ProxyCore({ config: defaultConfig(), clock, send, route, media: undefined });
      const text = request("INVITE");
      const broken = text.includes(`\r\n${name}: `)
        ? text.replace(new RegExp(`^${name}: .*$`, "m"), line)
        : text.replace("\r\nContent-Length", `\r\n${line}\r\nContent-Length`);
      core.receive(inbound("external", PHONE, broken));
      await settle();
      assert.equal(sent.length, 1, sent.join("\n"));
      assert.match(sent[0]!, new RegExp(`^SIP/2\\.0 400 Cannot parse ${name} header `));
      assert.deepEqual(routed, []);
      assert.equal(core.counters.parseErrors, 1);
      core.close();
      assert.equal(clock.pending, 0);
    });
  }
});
