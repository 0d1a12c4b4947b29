// The three backends against each other (builtin, libcrypto, libsrtp2), every way, both suites.
// Needs --allow-ffi, the Debian packages libsrtp2-1 and libssl3: without them these tests fail
// with the loader's message, never skip.
import assert from "node:assert/strict";
import { BuiltinSrtpContext } from "../../../rtp/srtp/builtin_context.ts";
import {
  SRTP_DIRECTION,
  type SrtpContext,
  type SrtpContextOptions,
} from "../../../rtp/srtp/context.ts";
import { LibcryptoSrtpContext } from "../../../rtp/srtp/libcrypto_context.ts";
import { LibsrtpContext } from "../../../rtp/srtp/libsrtp_context.ts";
import { newMasterKey } from "../../../rtp/srtp/sdes.ts";
import { type MasterKey, SRTP_SUITE } from "../../../rtp/srtp/suite.ts";
import { prng } from "../../kit/prng.ts";
import { bytesOf, copy, hex, type Packet, rtcp, rtp, testKey, toHex } from "./_packets.ts";

type Open = (master: MasterKey, options: SrtpContextOptions) => SrtpContext;
const BACKENDS: Record<string, Open> = {
  builtin: (m, o) => new BuiltinSrtpContext(m, o),
  libcrypto: (m, o) => new LibcryptoSrtpContext(m, o),
  libsrtp: (m, o) => new LibsrtpContext(m, o),
};
const NAMES = Object.keys(BACKENDS);
/** Every ordered pair of two different backends. */
const PAIRS = NAMES.flatMap((a) => NAMES.filter((b) => b !== a).map((b) => [a, b] as const));
const SUITES = [SRTP_SUITE.AES_CM_128_HMAC_SHA1_80, SRTP_SUITE.AES_CM_128_HMAC_SHA1_32];

/** RTP packets across a sequence wrap, with CSRCs, extensions and payloads of many sizes. */
function stream(seed: number): Packet[] {
  const random = prng(seed);
  return Array.from({ length: 40 }, (_, i) => {
    const csrcs = i % 5 === 1 ? [0x11111111, 0x22222222] : [];
    const extensionWords = i % 7 === 2 ? 3 : undefined;
    const payloadLength = [0, 1, 15, 16, 17, 160, 1200][i % 7]!;
    const p = rtp({
      seq: (65520 + i) & 0xffff,
      csrcs,
      payloadLength,
      ...(extensionWords === undefined ? {} : { extensionWords }),
    });
    for (let j = p.len - payloadLength; j < p.len; j++) p.buf[j] = random() * 256;
    return p;
  });
}

for (const suite of SUITES) {
  for (const [sender, receiver] of PAIRS) {
    Deno.test(`${sender} protectRtp() is unprotected by ${receiver} (${suite})`, () => {
      const master = newMasterKey();
      const tx = BACKENDS[sender]!(master, { suite, direction: SRTP_DIRECTION.outbound });
      const rx = BACKENDS[receiver]!(master, { suite, direction: SRTP_DIRECTION.inbound });
      try {
        for (const plain of stream(suite.length)) {
          const p = copy(plain);
          p.len = tx.protectRtp(p.buf, p.len);
          assert.ok(p.len > plain.len);
          p.len = rx.unprotectRtp(p.buf, p.len);
          assert.equal(bytesOf(p), bytesOf(plain));
        }
      } finally {
        tx.close();
        rx.close();
      }
    });

    Deno.test(`${sender} protectRtcp() is unprotected by ${receiver} (${suite})`, () => {
      const master = newMasterKey();
      const tx = BACKENDS[sender]!(master, { suite, direction: SRTP_DIRECTION.outbound });
      const rx = BACKENDS[receiver]!(master, { suite, direction: SRTP_DIRECTION.inbound });
      try {
        for (let i = 0; i < 20; i++) {
          const plain = rtcp(0x01020304 + (i % 3));
          const p = copy(plain);
          p.len = tx.protectRtcp(p.buf, p.len);
          assert.equal(p.len, plain.len + 14);
          p.len = rx.unprotectRtcp(p.buf, p.len);
          assert.equal(bytesOf(p), bytesOf(plain));
        }
      } finally {
        tx.close();
        rx.close();
      }
    });
  }

  for (const other of ["libcrypto", "libsrtp"]) {
    Deno.test(`builtin and ${other} protectRtp() write the same bytes (${suite})`, () => {
      const master = newMasterKey();
      const a = BACKENDS.builtin!(master, { suite, direction: SRTP_DIRECTION.outbound });
      const b = BACKENDS[other]!(master, { suite, direction: SRTP_DIRECTION.outbound });
      try {
        for (const plain of stream(7)) {
          const x = copy(plain);
          const y = copy(plain);
          x.len = a.protectRtp(x.buf, x.len);
          y.len = b.protectRtp(y.buf, y.len);
          assert.equal(bytesOf(x), bytesOf(y));
        }
      } finally {
        a.close();
        b.close();
      }
    });
  }
}

Deno.test("every backend gives libsrtp's reference SRTP packet", () => {
  // libsrtp's own test driver vector (srtp_driver.c): the RFC 3711 B.3 master key, SSRC
  // 0xdecafbad, seq 0x1234, payload 16 × 0xab, AES_CM_128_HMAC_SHA1_80.
  for (const open of Object.values(BACKENDS)) {
    const tx = open(testKey(), {
      suite: SRTP_SUITE.AES_CM_128_HMAC_SHA1_80,
      direction: SRTP_DIRECTION.outbound,
    });
    const buf = new Uint8Array(256);
    const plain = hex("800f1234decafbadcafebabe abababababababababababababababab");
    buf.set(plain);
    const n = tx.protectRtp(buf, plain.length);
    tx.close();
    assert.equal(
      toHex(buf.subarray(0, n)),
      "800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb",
      tx.backend,
    );
  }
});
