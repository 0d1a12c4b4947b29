// SRTP bridged at the relay (rtp/srtp_media.ts): SRTP with SDES keys on the external side, plain
// RTP inside, each leg with its own key; packets that fail authentication are dropped and counted.
import assert from "node:assert/strict";
import { BuiltinSrtpContext } from "../../rtp/srtp/builtin_context.ts";
import { type SrtpContext } from "../../rtp/srtp/context.ts";
import { formatCrypto, newMasterKey, parseCrypto } from "../../rtp/srtp/sdes.ts";
import type { MasterKey } from "../../rtp/srtp/suite.ts";
import type { SrtpMode } from "../../config/config.ts";
import {
  body,
  ctx,
  dialog,
  Endpoint,
  EXT,
  INT,
  media,
  PBX,
  PHONE,
  portsInUse,
  request,
  response,
  sdp,
  setup,
} from "./_relay_kit.ts";

const RANGE: [number, number] = [41200, 41219];
const SUITE = "AES_CM_128_HMAC_SHA1_80";

/** An SDP whose audio line is RTP/SAVP with `crypto` lines. */
function savp(ip: string, port: number, crypto: string[]): string {
  return sdp(ip, [["audio", port]]).replace("RTP/AVP", "RTP/SAVP") +
    crypto.map((c) => `a=crypto:${c}\r\n`).join("");
}

/** The one a=crypto value of an SDP, parsed. */
function cryptoOf(text: string) {
  const lines = [...text.matchAll(/^a=crypto:(.*)$/gm)].map((m) => m[1]!.trim());
  assert.equal(lines.length, 1, text);
  const parsed = parseCrypto(lines[0]!);
  assert.ok(parsed.ok, lines[0]);
  return parsed.value;
}

function rtp(seq: number, payload: number): Uint8Array {
  const p = new Uint8Array(12 + 160 + 64);
  p[0] = 0x80;
  p[1] = 8;
  new DataView(p.buffer).setUint16(2, seq);
  new DataView(p.buffer).setUint32(8, 0x1234);
  p.fill(payload, 12, 172);
  return p;
}

function context(master: MasterKey, direction: "inbound" | "outbound"): SrtpContext {
  return new BuiltinSrtpContext(master, { suite: SUITE, direction });
}

function bridge(mode: SrtpMode) {
  return setup(RANGE, {}, { external: { srtp: mode } });
}

Deno.test("an SRTP offer from outside reaches the PBX as RTP/AVP; audio crosses decrypted and re-encrypted", async () => {
  const { relay } = bridge("mandatory");
  const phone = new Endpoint(PHONE, 42200);
  const pbx = new Endpoint(PBX, 42202);
  try {
    const d = dialog();
    const phoneKey = newMasterKey();
    const offer = body(relay.manage(ctx(
      request(
        d,
        "INVITE",
        1,
        savp(PHONE, 42200, [
          `1 ${SUITE} inline:${inline(phoneKey)}`,
        ]),
      ),
      "external",
    )));
    assert.match(offer, /^m=audio \d+ RTP\/AVP 0\r$/m);
    assert.doesNotMatch(offer, /a=crypto/);
    const answer = body(relay.manage(ctx(
      response(d, 200, "INVITE", 1, sdp(PBX, [["audio", 42202]])),
      "internal",
    )));
    assert.match(answer, /^m=audio \d+ RTP\/SAVP 0\r$/m);
    const ours = cryptoOf(answer);
    assert.equal(ours.tag, 1);
    assert.equal(ours.suite, SUITE);
    assert.notDeepEqual(ours.master.key, phoneKey.key, "the SBC's own key, not the phone's");
    const ext = media(answer).ports[0]!;
    const int = media(offer).ports[0]!;

    // The phone's SRTP arrives at the PBX as the RTP it was made from.
    const toSbc = context(phoneKey, "outbound");
    const packet = rtp(1, 0x55);
    const len = toSbc.protectRtp(packet, 172);
    await phone.conn.send(packet.subarray(0, len), { transport: "udp", hostname: EXT, port: ext });
    assert.equal(await pbx.waitFor(1), 1);
    assert.deepEqual(pbx.got[0]!.data, rtp(1, 0x55).subarray(0, 172));

    // The PBX's RTP reaches the phone as SRTP under the SBC's key.
    await pbx.conn.send(rtp(7, 0x66).subarray(0, 172), {
      transport: "udp",
      hostname: INT,
      port: int,
    });
    assert.equal(await phone.waitFor(1), 1);
    const got = new Uint8Array(256);
    got.set(phone.got[0]!.data);
    assert.equal(phone.got[0]!.data.byteLength, 182, "an 80-bit tag added");
    const n = context(ours.master, "inbound").unprotectRtp(got, 182);
    assert.equal(n, 172);
    assert.deepEqual(got.subarray(0, 172), rtp(7, 0x66).subarray(0, 172));

    // A forged packet (the right source, without the key) is dropped and counted.
    const forged = rtp(2, 0x77);
    forged.fill(0xaa, 172, 182);
    await phone.conn.send(forged.subarray(0, 182), { transport: "udp", hostname: EXT, port: ext });
    // A replayed one too.
    await phone.conn.send(packet.subarray(0, len), { transport: "udp", hostname: EXT, port: ext });
    await pbx.waitFor(2, 300);
    assert.equal(pbx.got.length, 1, "nothing unauthenticated reached the PBX");
    const leg = relay.calls()[0]!.streams[0]!.legs[0]!;
    assert.equal(leg.srtpFailures, 2);
    relay.manage(ctx(request(d, "BYE", 2), "external"));
    assert.equal(await portsInUse(relay, 0), 0);
  } finally {
    await phone.close();
    await pbx.close();
    relay.close();
  }
});

Deno.test("a PBX offer leaving by a mandatory interface is RTP/SAVP with the SBC's key", () => {
  const { relay } = bridge("mandatory");
  try {
    const d = dialog();
    const offer = body(relay.manage(ctx(
      request(d, "INVITE", 1, sdp(PBX, [["audio", 42210]])),
      "internal",
    )));
    assert.match(offer, /^m=audio \d+ RTP\/SAVP 0\r$/m);
    const ours = cryptoOf(offer);
    const phoneKey = newMasterKey();
    const answer = body(relay.manage(ctx(
      response(
        d,
        200,
        "INVITE",
        1,
        savp(PHONE, 42212, [formatCrypto({ tag: ours.tag, suite: SUITE, master: phoneKey })]),
      ),
      "external",
    )));
    assert.match(answer, /^m=audio \d+ RTP\/AVP 0\r$/m);
    assert.doesNotMatch(answer, /a=crypto/);
    // A re-INVITE from the PBX keeps the SBC's key (and so its rollover counter).
    const again = body(relay.manage(ctx(
      request(d, "INVITE", 2, sdp(PBX, [["audio", 42210]]), { inDialog: true }),
      "internal",
    )));
    assert.deepEqual(cryptoOf(again).master, ours.master);
  } finally {
    relay.close();
  }
});

Deno.test("offers the interfaces' SRTP modes refuse are answered 488 and take no port", () => {
  for (
    const [mode, from, text, reason] of [
      ["mandatory", "external", sdp(PHONE, [["audio", 42220]]), "SRTP required"],
      ["optional", "external", savp(PHONE, 42220, ["1 F8_128_HMAC_SHA1_80 inline:x"]), "No usable"],
      [
        "mandatory",
        "internal",
        savp(PBX, 42220, [`1 ${SUITE} inline:${inline(newMasterKey())}`]),
        "not enabled",
      ],
    ] as const
  ) {
    const { relay } = bridge(mode);
    try {
      const outcome = relay.manage(ctx(request(dialog(), "INVITE", 1, text), from));
      assert.equal(outcome.kind, "reject", `${mode} ${from}`);
      assert.equal((outcome as { status: number }).status, 488);
      assert.match((outcome as { reason: string }).reason, new RegExp(reason));
      assert.equal(relay.stats().portsInUse, 0);
    } finally {
      relay.close();
    }
  }
});

Deno.test("optional: a plain offer from outside stays plain both ways", () => {
  const { relay } = bridge("optional");
  try {
    const d = dialog();
    const offer = body(relay.manage(ctx(
      request(d, "INVITE", 1, sdp(PHONE, [["audio", 42230]])),
      "external",
    )));
    assert.match(offer, /RTP\/AVP/);
    const answer = body(relay.manage(ctx(
      response(d, 200, "INVITE", 1, sdp(PBX, [["audio", 42232]])),
      "internal",
    )));
    assert.match(answer, /^m=audio \d+ RTP\/AVP 0\r$/m);
    assert.doesNotMatch(answer, /a=crypto/);
  } finally {
    relay.close();
  }
});

function inline(master: MasterKey): string {
  return formatCrypto({ tag: 1, suite: SUITE, master }).split("inline:")[1]!;
}

Deno.test("mandatory: a phone that answers the SBC's SRTP offer with plain RTP gets nothing through", async () => {
  const { relay } = bridge("mandatory");
  const phone = new Endpoint(PHONE, 42240);
  const pbx = new Endpoint(PBX, 42242);
  try {
    const d = dialog();
    const offer = body(relay.manage(ctx(
      request(d, "INVITE", 1, sdp(PBX, [["audio", 42242]])),
      "internal",
    )));
    assert.match(offer, /RTP\/SAVP/);
    const answer = body(relay.manage(ctx(
      response(d, 200, "INVITE", 1, sdp(PHONE, [["audio", 42240]])),
      "external",
    )));
    const int = media(answer).ports[0]!;
    const ext = media(offer).ports[0]!;
    assert.ok(int > 0);
    for (let seq = 1; seq <= 5; seq++) {
      await phone.conn.send(rtp(seq, 0x11).subarray(0, 172), {
        transport: "udp",
        hostname: EXT,
        port: ext,
      });
    }
    await pbx.waitFor(1, 300);
    assert.equal(pbx.got.length, 0, "plain RTP from a leg that must speak SRTP");
    const leg = relay.calls()[0]!.streams[0]!.legs[1]!;
    assert.equal(leg.srtpFailures, 5);
    assert.equal(leg.profile, "rtp");
  } finally {
    await phone.close();
    await pbx.close();
    relay.close();
  }
});

Deno.test("no key crosses: session-level and rejected-line a=crypto are stripped; unknown session parameters refused", () => {
  const { relay } = bridge("optional");
  try {
    const key = `1 ${SUITE} inline:${inline(newMasterKey())}`;
    const withExtras = [
      "v=0",
      `o=- 1 1 IN IP4 ${PHONE}`,
      "s=-",
      `c=IN IP4 ${PHONE}`,
      "t=0 0",
      `a=crypto:${key}`,
      "m=audio 42250 RTP/SAVP 0",
      `a=crypto:${key}`,
      "m=video 0 RTP/SAVP 96",
      `a=crypto:${key}`,
      "",
    ].join("\r\n");
    const offer = body(relay.manage(ctx(request(dialog(), "INVITE", 1, withExtras), "external")));
    assert.doesNotMatch(offer, /a=crypto/, offer);

    const unencrypted = savp(PHONE, 42252, [`${key} UNENCRYPTED_SRTP`]);
    const refused = relay.manage(ctx(request(dialog(), "INVITE", 1, unencrypted), "external"));
    assert.equal(refused.kind, "reject");
  } finally {
    relay.close();
  }
});
