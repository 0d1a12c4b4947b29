// The behaviour every SRTP backend owes (rtp/srtp/context.ts), run against each by its own test
// file (style bullet 16: interchangeable implementations share one case file).

import assert from "node:assert/strict";
import {
  SRTP_DIRECTION,
  SRTP_ERROR,
  type SrtpContext,
  type SrtpContextOptions,
} from "../../../rtp/srtp/context.ts";
import { type MasterKey, SRTP_SUITE, type SrtpSuite } from "../../../rtp/srtp/suite.ts";
import { bytesOf, copy, type Packet, rtcp, rtp, SSRC, testKey } from "./_packets.ts";

export type OpenContext = (master: MasterKey, options: SrtpContextOptions) => SrtpContext;

const SUITES = [SRTP_SUITE.AES_CM_128_HMAC_SHA1_80, SRTP_SUITE.AES_CM_128_HMAC_SHA1_32];

/** A sender and a receiver on the same master key, closed when the scope ends. */
function pair(open: OpenContext, suite: SrtpSuite, maxSsrcs?: number) {
  const extra = maxSsrcs === undefined ? {} : { maxSsrcs };
  const tx = open(testKey(), { suite, direction: SRTP_DIRECTION.outbound, ...extra });
  const rx = open(testKey(), { suite, direction: SRTP_DIRECTION.inbound, ...extra });
  return {
    tx,
    rx,
    [Symbol.dispose]() {
      tx.close();
      rx.close();
    },
  };
}

/** Protects `p` in place and returns the protected copy (the input is left as it was). */
function protect(tx: SrtpContext, p: Packet, kind: "rtp" | "rtcp" = "rtp"): Packet {
  const out = copy(p);
  const n = kind === "rtp" ? tx.protectRtp(out.buf, out.len) : tx.protectRtcp(out.buf, out.len);
  assert.ok(n > 0, `protect failed with ${n}`);
  out.len = n;
  return out;
}

/** Unprotects a copy of `p`: the result code and the packet. */
function unprotect(rx: SrtpContext, p: Packet, kind: "rtp" | "rtcp" = "rtp"): [number, Packet] {
  const out = copy(p);
  const n = kind === "rtp" ? rx.unprotectRtp(out.buf, out.len) : rx.unprotectRtcp(out.buf, out.len);
  if (n >= 0) out.len = n;
  return [n, out];
}

export function runContextCases(name: string, open: OpenContext): void {
  for (const suite of SUITES) {
    Deno.test(`${name}: protectRtp() and unprotectRtp() round-trip (${suite})`, () => {
      using p = pair(open, suite);
      const tag = suite === SRTP_SUITE.AES_CM_128_HMAC_SHA1_32 ? 4 : 10;
      assert.equal(p.tx.rtpOverhead, tag);
      for (let seq = 1; seq <= 5; seq++) {
        const plain = rtp({ seq });
        const secret = protect(p.tx, plain);
        assert.equal(secret.len, plain.len + tag);
        assert.equal(bytesOf({ buf: secret.buf, len: 12 }), bytesOf({ buf: plain.buf, len: 12 }));
        assert.notEqual(bytesOf(secret).slice(24, 40), bytesOf(plain).slice(24, 40));
        const [n, back] = unprotect(p.rx, secret);
        assert.equal(n, plain.len);
        assert.equal(bytesOf(back), bytesOf(plain));
      }
    });

    Deno.test(`${name}: protectRtcp() and unprotectRtcp() round-trip (${suite})`, () => {
      using p = pair(open, suite);
      assert.equal(p.tx.rtcpOverhead, 14);
      let first = -1;
      for (let i = 0; i < 3; i++) {
        const plain = rtcp();
        const secret = protect(p.tx, plain, "rtcp");
        // SRTCP's tag is 80 bits whatever the suite (RFC 3711 §5.2).
        assert.equal(secret.len, plain.len + 4 + 10);
        assert.equal(bytesOf({ buf: secret.buf, len: 8 }), bytesOf({ buf: plain.buf, len: 8 }));
        assert.notEqual(bytesOf(secret).slice(16, 56), bytesOf(plain).slice(16, 56));
        const trailer = new DataView(secret.buf.buffer).getUint32(plain.len);
        assert.equal(trailer >>> 31, 1, "E flag");
        if (first < 0) first = trailer & 0x7fffffff;
        assert.equal(trailer & 0x7fffffff, first + i, "SRTCP index counts up");
        const [n, back] = unprotect(p.rx, secret, "rtcp");
        assert.equal(n, plain.len);
        assert.equal(bytesOf(back), bytesOf(plain));
      }
    });
  }

  Deno.test(`${name}: protectRtp() leaves CSRCs and the header extension in clear`, () => {
    using p = pair(open, SRTP_SUITE.AES_CM_128_HMAC_SHA1_80);
    const plain = rtp({ seq: 7, csrcs: [1, 2, 3], extensionWords: 2 });
    const header = 12 + 12 + 4 + 8;
    const secret = protect(p.tx, plain);
    assert.equal(
      bytesOf({ buf: secret.buf, len: header }),
      bytesOf({ buf: plain.buf, len: header }),
    );
    assert.notEqual(secret.buf[header], plain.buf[header]);
    const [n, back] = unprotect(p.rx, secret);
    assert.equal(n, plain.len);
    assert.equal(bytesOf(back), bytesOf(plain));
  });

  Deno.test(`${name}: works with just the trailer's room, at any byte offset`, () => {
    using p = pair(open, SRTP_SUITE.AES_CM_128_HMAC_SHA1_80);
    for (let offset = 0; offset < 4; offset++) {
      for (const kind of ["rtp", "rtcp"] as const) {
        const plain = kind === "rtp" ? rtp({ seq: 20 + offset, room: 0 }) : rtcp(SSRC, 0);
        const room = kind === "rtp" ? 10 : 14;
        const buf = new Uint8Array(offset + plain.len + room).subarray(offset);
        buf.set(plain.buf.subarray(0, plain.len));
        const n = kind === "rtp"
          ? p.tx.protectRtp(buf, plain.len)
          : p.tx.protectRtcp(buf, plain.len);
        assert.equal(n, plain.len + room, `${kind} at offset ${offset}`);
        const [m, back] = unprotect(p.rx, { buf, len: n }, kind);
        assert.equal(m, plain.len);
        assert.equal(bytesOf(back), bytesOf(plain));
      }
    }
  });

  Deno.test(`${name}: unprotectRtp() refuses a tampered packet, then takes the real one`, async (t) => {
    using p = pair(open, SRTP_SUITE.AES_CM_128_HMAC_SHA1_80);
    const secret = protect(p.tx, rtp({ seq: 1 }));
    for (const [what, at] of [["payload", 40], ["header", 1], ["tag", secret.len - 1]] as const) {
      await t.step(what, () => {
        const bad = copy(secret);
        bad.buf[at] = bad.buf[at]! ^ 0x01;
        assert.equal(unprotect(p.rx, bad)[0], SRTP_ERROR.auth);
      });
    }
    assert.equal(unprotect(p.rx, secret)[0], secret.len - 10);
  });

  Deno.test(`${name}: unprotectRtcp() refuses a tampered packet`, () => {
    using p = pair(open, SRTP_SUITE.AES_CM_128_HMAC_SHA1_32);
    const secret = protect(p.tx, rtcp(), "rtcp");
    const bad = copy(secret);
    bad.buf[12] = bad.buf[12]! ^ 0x80;
    assert.equal(unprotect(p.rx, bad, "rtcp")[0], SRTP_ERROR.auth);
    assert.equal(unprotect(p.rx, secret, "rtcp")[0], 28);
  });

  Deno.test(`${name}: unprotectRtp() and unprotectRtcp() refuse a replayed packet`, () => {
    using p = pair(open, SRTP_SUITE.AES_CM_128_HMAC_SHA1_80);
    const secret = protect(p.tx, rtp({ seq: 1000 }));
    assert.equal(unprotect(p.rx, secret)[0], secret.len - 10);
    assert.equal(unprotect(p.rx, secret)[0], SRTP_ERROR.replay);
    const report = protect(p.tx, rtcp(), "rtcp");
    assert.equal(unprotect(p.rx, report, "rtcp")[0], 28);
    assert.equal(unprotect(p.rx, report, "rtcp")[0], SRTP_ERROR.replay);
  });

  Deno.test(`${name}: unprotectRtp() takes packets out of order within the 64-packet window`, () => {
    using p = pair(open, SRTP_SUITE.AES_CM_128_HMAC_SHA1_80);
    const sent = Array.from({ length: 101 }, (_, seq) => protect(p.tx, rtp({ seq: 5000 + seq })));
    const deliver = (i: number) => unprotect(p.rx, sent[i]!)[0];
    assert.equal(deliver(100), 172);
    for (const i of [95, 90, 99, 60, 37]) assert.equal(deliver(i), 172, `packet ${i}`);
    assert.equal(deliver(90), SRTP_ERROR.replay, "seen already");
    assert.equal(deliver(30), SRTP_ERROR.replay, "older than the window");
  });

  Deno.test(`${name}: the rollover counter follows the sequence number wrap`, () => {
    using p = pair(open, SRTP_SUITE.AES_CM_128_HMAC_SHA1_80);
    // ROC becomes 1 at seq 0. Were it not, seq 0 would be index 0, far behind 65535: a replay.
    // 65500 after the wrap is a late packet of ROC 0 (§3.3.1), still inside the window.
    const seqs = [65533, 65534, 65535, 0, 1, 2, 65500, 3];
    const sent = seqs.map((seq) => protect(p.tx, rtp({ seq })));
    for (const [i, seq] of seqs.entries()) {
      const plain = rtp({ seq });
      const [n, back] = unprotect(p.rx, sent[i]!);
      assert.equal(n, plain.len, `seq ${seq}`);
      assert.equal(bytesOf(back), bytesOf(plain));
    }
  });

  Deno.test(`${name}: unprotectRtp() starts a new SSRC at any sequence number`, () => {
    using p = pair(open, SRTP_SUITE.AES_CM_128_HMAC_SHA1_80);
    for (const [ssrc, seq] of [[1, 50000], [2, 0], [3, 32768], [4, 65535]] as const) {
      const secret = protect(p.tx, rtp({ ssrc, seq }));
      assert.equal(unprotect(p.rx, secret)[0], 172, `ssrc ${ssrc}`);
      const next = protect(p.tx, rtp({ ssrc, seq: (seq + 1) & 0xffff }));
      assert.equal(unprotect(p.rx, next)[0], 172, `ssrc ${ssrc} next`);
    }
  });

  Deno.test(`${name}: protectRtp() refuses to send the same index twice`, () => {
    using p = pair(open, SRTP_SUITE.AES_CM_128_HMAC_SHA1_80);
    protect(p.tx, rtp({ seq: 7 }));
    const again = rtp({ seq: 7 });
    assert.equal(p.tx.protectRtp(again.buf, again.len), SRTP_ERROR.replay);
  });

  Deno.test(`${name}: each context works one way only`, () => {
    using p = pair(open, SRTP_SUITE.AES_CM_128_HMAC_SHA1_80);
    const a = rtp({ seq: 1 });
    const b = rtcp();
    assert.equal(p.rx.protectRtp(a.buf, a.len), SRTP_ERROR.direction);
    assert.equal(p.rx.protectRtcp(b.buf, b.len), SRTP_ERROR.direction);
    assert.equal(p.tx.unprotectRtp(a.buf, a.len), SRTP_ERROR.direction);
    assert.equal(p.tx.unprotectRtcp(b.buf, b.len), SRTP_ERROR.direction);
  });

  Deno.test(`${name}: malformed packets and full buffers are refused`, async (t) => {
    using p = pair(open, SRTP_SUITE.AES_CM_128_HMAC_SHA1_80);
    const buf = new Uint8Array(400);
    await t.step("RTP shorter than its fixed header", () => {
      buf.set(rtp({ seq: 1 }).buf.subarray(0, 12));
      assert.equal(p.tx.protectRtp(buf, 11), SRTP_ERROR.malformed);
    });
    await t.step("RTP version 1", () => {
      const v1 = rtp({ seq: 1 });
      v1.buf[0] = 0x40;
      assert.equal(p.tx.protectRtp(v1.buf, v1.len), SRTP_ERROR.malformed);
    });
    await t.step("CSRC list past the end", () => {
      const short = rtp({ seq: 1, payloadLength: 8 });
      short.buf[0] = 0x8f;
      assert.equal(p.tx.protectRtp(short.buf, short.len), SRTP_ERROR.malformed);
    });
    await t.step("SRTP no longer than its tag and header", () => {
      const secret = protect(p.tx, rtp({ seq: 2, payloadLength: 0 }));
      assert.equal(p.rx.unprotectRtp(secret.buf, secret.len - 1), SRTP_ERROR.malformed);
    });
    await t.step("SRTCP without index and tag", () => {
      const plain = rtcp();
      assert.equal(p.rx.unprotectRtcp(plain.buf, 8 + 13), SRTP_ERROR.malformed);
    });
    await t.step("no room for the trailer", () => {
      const full = rtp({ seq: 3, room: 9 });
      assert.equal(p.tx.protectRtp(full.buf, full.len), SRTP_ERROR.noRoom);
      const report = rtcp(SSRC, 13);
      assert.equal(p.tx.protectRtcp(report.buf, report.len), SRTP_ERROR.noRoom);
    });
  });

  Deno.test(`${name}: a closed context transforms nothing`, () => {
    const p = pair(open, SRTP_SUITE.AES_CM_128_HMAC_SHA1_80);
    p[Symbol.dispose]();
    const a = rtp({ seq: 1 });
    assert.equal(p.tx.protectRtp(a.buf, a.len), SRTP_ERROR.failed);
    assert.equal(p.rx.unprotectRtp(a.buf, a.len), SRTP_ERROR.failed);
    p.tx.close();
  });

  Deno.test(`${name}: per-SSRC state is bounded, least recently used first out`, () => {
    using p = pair(open, SRTP_SUITE.AES_CM_128_HMAC_SHA1_80, 2);
    const first = [1, 2, 3].map((ssrc) => protect(p.tx, rtp({ ssrc, seq: 10 })));
    for (const s of first) assert.equal(unprotect(p.rx, s)[0], 172);
    // SSRC 1 was pushed out by 3, so its replay is no longer recognised; 3's still is.
    assert.equal(unprotect(p.rx, first[2]!)[0], SRTP_ERROR.replay);
    assert.equal(unprotect(p.rx, first[0]!)[0], 172);
  });

  Deno.test(`${name}: packets that fail authentication create no state`, () => {
    using p = pair(open, SRTP_SUITE.AES_CM_128_HMAC_SHA1_80, 1);
    const real = protect(p.tx, rtp({ ssrc: 1, seq: 10 }));
    assert.equal(unprotect(p.rx, real)[0], 172);
    for (let ssrc = 100; ssrc < 140; ssrc++) {
      const forged = rtp({ ssrc, seq: 1, payloadLength: 170 });
      assert.equal(unprotect(p.rx, forged)[0], SRTP_ERROR.auth);
    }
    assert.equal(unprotect(p.rx, real)[0], SRTP_ERROR.replay, "SSRC 1 is still known");
  });
}
