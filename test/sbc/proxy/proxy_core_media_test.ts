// The proxy core with a real MediaRelay on a manual clock: the SIP↔media seam below the
// end-to-end level (SDP rewritten both ways, media deleted on a failed call, answers managed with
// the other side's flags).
import assert from "node:assert/strict";
import type { Config } from "../../../config/config.ts";
import { defaultConfig } from "../../../config/default.ts";
import { parseSdp } from "../../../rtp/sdp.ts";
import type { SipMessage } from "../../../sbc/message/sip_message.ts";
import { type CoreEnv, coreEnv } from "../../kit/core_env.ts";
import { ManualClock } from "../../kit/manual_clock.ts";
import { TIMER } from "../../../sbc/transaction/timers.ts";
import { audioSdp, testRelay } from "../../kit/media_relay.ts";
import { answer, PBX, PHONE, request } from "../../kit/phone_and_pbx.ts";

// Media ports of this file only (other files' relays use other ranges).
const PORTS: [number, number] = [42100, 42139];
const PHONE_SDP = audioSdp("192.0.2.50", 4000);
const PBX_SDP = audioSdp("127.0.2.10", 5000);

/** The c= address, o= address and audio port of a message's SDP. */
function media(msg: SipMessage): { address: string; origin: string; port: number } {
  const parsed = parseSdp(msg.body);
  assert.ok(parsed.ok, "the body is SDP");
  const address = /^c=IN IP4 (\S+)/m.exec(msg.body)?.[1] ?? "";
  const origin = /^o=\S+ \S+ \S+ IN IP4 (\S+)/m.exec(msg.body)?.[1] ?? "";
  const port = Number(/^m=audio (\d+)/m.exec(msg.body)?.[1]);
  return { address, origin, port };
}

function withMedia(edit: (config: Config) => Config = (config) => config) {
  const config = edit(defaultConfig());
  const clock = new ManualClock();
  const relay = testRelay(config, clock, PORTS);
  return {
    env: coreEnv({ config, clock, media: relay }),
    relay,
    [Symbol.dispose]: () => relay.close(),
  };
}

const INVITE_SDP = request("INVITE", {
  extra: ["Content-Type: application/sdp"],
  body: PHONE_SDP,
});

/** The phone's INVITE with SDP, as the PBX receives it. */
async function inviteToPbx(env: CoreEnv): Promise<SipMessage> {
  await env.receive("external", PHONE, INVITE_SDP);
  const [trying, fwd] = env.take();
  assert.equal(trying?.msg.status, 100);
  assert.deepEqual(fwd?.target.dest, PBX);
  return fwd!.msg;
}

Deno.test("ProxyCore sends the PBX an INVITE whose SDP names the internal media address, and the phone a 200 naming the external one", async () => {
  using m = withMedia();
  const { env, relay } = m;
  const toPbx = media(await inviteToPbx(env));
  assert.equal(toPbx.address, "127.0.2.1");
  assert.ok(toPbx.port >= PORTS[0] && toPbx.port <= PORTS[1], `port ${toPbx.port} in range`);
  const invite = env.sent[1]!.msg;
  await env.receive(
    "internal",
    PBX,
    answer(invite, 200, "OK", [["Content-Type", "application/sdp"]], PBX_SDP),
  );
  const [ok] = env.take();
  assert.deepEqual(ok?.target.dest, PHONE);
  const toPhone = media(ok!.msg);
  assert.equal(toPhone.address, "127.0.1.1");
  assert.ok(toPhone.port >= PORTS[0] && toPhone.port <= PORTS[1]);
  assert.equal(relay.stats().sessions, 1);
});

Deno.test("ProxyCore deletes the call's media when the PBX answers 486", async () => {
  using m = withMedia();
  const { env, relay } = m;
  const invite = await inviteToPbx(env);
  assert.equal(relay.stats().sessions, 1);
  assert.ok(relay.stats().portsInUse > 0);
  await env.receive("internal", PBX, answer(invite, 486, "Busy Here"));
  const sent = env.take();
  assert.deepEqual(sent.map((s) => s.msg.status || s.msg.method), ["ACK", 486]);
  assert.equal(relay.stats().sessions, 0, "no session after 486");
  assert.equal(relay.stats().portsInUse, 0, "every port freed");
});

Deno.test("ProxyCore manages an answer with the flags of the side it comes from", async () => {
  // `o` rewrites the o= address: only the internal side has it.
  using m = withMedia((config) => ({ ...config, internal: { ...config.internal, flags: "o" } }));
  const { env } = m;
  const toPbx = media(await inviteToPbx(env));
  assert.equal(toPbx.origin, "192.0.2.50", "the phone's INVITE: the external side's flags, no o");
  const invite = env.sent[1]!.msg;
  await env.receive(
    "internal",
    PBX,
    answer(invite, 200, "OK", [["Content-Type", "application/sdp"]], PBX_SDP),
  );
  const [ok] = env.take();
  assert.equal(media(ok!.msg).origin, "127.0.1.1", "the PBX's 200: the internal side's o");
});

Deno.test("ProxyCore frees the call's media at once when the INVITE ends without a final answer", async () => {
  using m = withMedia();
  const { env, relay } = m;
  await inviteToPbx(env);
  assert.ok(relay.stats().portsInUse > 0);
  // The PBX never answers: Timer B ends the INVITE (408), and its offer with it, long before
  // media.offer_timeout would.
  env.clock.advance(TIMER.B);
  assert.ok(env.take().some((s) => s.msg.status === 408), "408 to the caller");
  assert.equal(relay.stats().sessions, 0);
  assert.equal(relay.stats().portsInUse, 0);
});
