import assert from "node:assert/strict";
import type { MediaContext } from "../../rtp/relay_types.ts";
import { coreEnv } from "./core_env.ts";
import { PHONE, request } from "./phone_and_pbx.ts";

const SDP = "v=0\r\no=- 1 1 IN IP4 192.0.2.50\r\ns=-\r\nc=IN IP4 192.0.2.50\r\nt=0 0\r\n" +
  "m=audio 49170 RTP/AVP 0\r\n";

Deno.test("coreEnv() routes with the bridge pipeline and records what the core sent", async () => {
  const env = coreEnv();
  await env.receive("external", PHONE, request("INVITE"));
  const out = env.take();
  assert.deepEqual(out.map((s) => [s.msg.status, s.target.side]), [[100, "external"], [
    0,
    "internal",
  ]]);
  assert.deepEqual(env.take(), [], "take() returns only what is new");
  assert.equal(env.sent.length, 2);
  env.core.close();
});

Deno.test("coreEnv() hands its media relay to the core", async () => {
  const managed: MediaContext[] = [];
  const env = coreEnv({
    media: {
      manage(ctx) {
        managed.push(ctx);
        return { kind: "none" };
      },
      deleteCall() {},
      traffic: () => ({ external: { packets: 0, bytes: 0 }, internal: { packets: 0, bytes: 0 } }),
    },
  });
  const invite = request("INVITE", { extra: ["Content-Type: application/sdp"], body: SDP });
  await env.receive("external", PHONE, invite);
  assert.deepEqual(managed.map((m) => [m.from, m.to, m.msg.sdp]), [["external", "internal", SDP]]);
  env.core.close();
});
