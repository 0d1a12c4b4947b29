/**
 * SRTP micro-benchmark: protect then unprotect of a 172-byte RTP packet (12-byte header, 160-byte
 * G.711 payload), in packets per second, for each backend of rtp/srtp/ and for a plain copy of
 * the packet (the work every row also does), all in one run. The rows take turns for several
 * rounds and each reports its median round, so on a noisy machine compare the ratios.
 *
 * Also printed: the cost of the HMAC-SHA1 and AES choices the builtin backend made, the share of
 * a libsrtp round trip spent crossing FFI (two calls of the same shape into libc's `memcmp` with
 * length 0), the memory one inbound + outbound context pair holds after a packet each way, and,
 * when libcrypto.so.3 loads, what OpenSSL's AES-CTR and the HMAC-SHA1 options cost per packet
 * through FFI (the `libcrypto` backend's choices: HMAC_CTX and EVP_MAC re-keying allocate a
 * provider context per packet in OpenSSL 3.0, kept SHA_CTX pad states do not).
 *
 *   npx --yes deno@2.9.6 run -A bench/srtp_bench.ts [--rounds 7] [--ms 300]
 */

import { createCipheriv, createHash, createHmac } from "node:crypto";
import { parseArgs } from "node:util";
import { AesCm } from "../rtp/srtp/aes_cm.ts";
import { BuiltinSrtpContext } from "../rtp/srtp/builtin_context.ts";
import { SRTP_DIRECTION, type SrtpContext, type SrtpContextOptions } from "../rtp/srtp/context.ts";
import { HmacSha1 } from "../rtp/srtp/hmac_sha1.ts";
import { LibcryptoAesCm } from "../rtp/srtp/libcrypto_aes_cm.ts";
import { LibcryptoSrtpContext } from "../rtp/srtp/libcrypto_context.ts";
import { LibcryptoHmacSha1 } from "../rtp/srtp/libcrypto_hmac_sha1.ts";
import { LibsrtpContext } from "../rtp/srtp/libsrtp_context.ts";
import { newMasterKey } from "../rtp/srtp/sdes.ts";
import { type MasterKey, SRTP_SUITE } from "../rtp/srtp/suite.ts";

const args = parseArgs({
  args: Deno.args,
  options: { rounds: { type: "string", default: "7" }, ms: { type: "string", default: "300" } },
});
const ROUNDS = Number(args.values.rounds);
const ROUND_MS = Number(args.values.ms);
const PACKET = 172;

type Open = (master: MasterKey, options: SrtpContextOptions) => SrtpContext;
const OPEN: Record<string, Open> = {
  builtin: (m, o) => new BuiltinSrtpContext(m, o),
  libcrypto: (m, o) => new LibcryptoSrtpContext(m, o),
  libsrtp: (m, o) => new LibsrtpContext(m, o),
};

/** A loop body run `n` times per call; returns something so the work is not optimised away. */
type Body = (n: number) => number;

/** The packet every row starts from: RTP v2, PT 0, SSRC 0x11223344, bytes 12… of payload. */
const plain = new Uint8Array(PACKET);
plain[0] = 0x80;
new DataView(plain.buffer).setUint32(8, 0x11223344);
for (let i = 12; i < PACKET; i++) plain[i] = i;
const work = new Uint8Array(2048);

/** Copies the packet into the work buffer with sequence number `seq`. */
function load(seq: number): void {
  work.set(plain);
  work[2] = seq >> 8;
  work[3] = seq;
}

function roundTrip(backend: string, suite: (typeof SRTP_SUITE)[keyof typeof SRTP_SUITE]): Body {
  const master = newMasterKey();
  const tx = OPEN[backend]!(master, { suite, direction: SRTP_DIRECTION.outbound });
  const rx = OPEN[backend]!(master, { suite, direction: SRTP_DIRECTION.inbound });
  // Each row counts its own sequence numbers: a jump of 2^15 would read as a replay (§3.3.1).
  let seq = 0;
  return (n) => {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      seq = (seq + 1) & 0xffff;
      load(seq);
      const back = rx.unprotectRtp(work, tx.protectRtp(work, PACKET));
      if (back !== PACKET) throw new Error(`Cannot benchmark ${backend}: round trip gave ${back}`);
      sum += back;
    }
    return sum;
  };
}

/** Median packets per second of each body, the bodies taking turns for ROUNDS rounds. */
function measure(bodies: Record<string, Body>): Record<string, number> {
  const rates: Record<string, number[]> = {};
  for (const [name, body] of Object.entries(bodies)) {
    body(20_000); // warm up: let the JIT settle before the first timed round
    rates[name] = [];
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, body] of Object.entries(bodies)) {
      let n = 0;
      const start = performance.now();
      let elapsed = 0;
      while (elapsed < ROUND_MS) {
        body(1000);
        n += 1000;
        elapsed = performance.now() - start;
      }
      rates[name]!.push(n / (elapsed / 1000));
    }
  }
  return Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, median(v)]));
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const fmt = (pps: number) => Math.round(pps).toLocaleString("en-US");
const us = (pps: number) => (1e6 / pps).toFixed(2);

// 1. Protect + unprotect per backend, against a plain copy.
const main = measure({
  "copy (baseline)": (n) => {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      load(i & 0xffff);
      sum += work[3]!;
    }
    return sum;
  },
  "builtin _80": roundTrip("builtin", SRTP_SUITE.AES_CM_128_HMAC_SHA1_80),
  "builtin _32": roundTrip("builtin", SRTP_SUITE.AES_CM_128_HMAC_SHA1_32),
  "libcrypto _80": roundTrip("libcrypto", SRTP_SUITE.AES_CM_128_HMAC_SHA1_80),
  "libcrypto _32": roundTrip("libcrypto", SRTP_SUITE.AES_CM_128_HMAC_SHA1_32),
  "libsrtp _80": roundTrip("libsrtp", SRTP_SUITE.AES_CM_128_HMAC_SHA1_80),
  "libsrtp _32": roundTrip("libsrtp", SRTP_SUITE.AES_CM_128_HMAC_SHA1_32),
});
const base = main["copy (baseline)"]!;
const libsrtp80 = main["libsrtp _80"]!;
console.log(`## SRTP protect + unprotect, ${PACKET}-byte RTP packets\n`);
console.log(`Deno ${Deno.version.deno}, ${ROUNDS} rounds of ${ROUND_MS} ms, median round.\n`);
const builtin80 = main["builtin _80"]!;
console.log(
  "| row | packets/s (round trips) | µs per round trip | vs copy | vs builtin _80 | vs libsrtp _80 |",
);
console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
for (const [name, pps] of Object.entries(main)) {
  console.log(
    `| ${name} | ${fmt(pps)} | ${us(pps)} | ${(pps / base).toFixed(3)} | ${
      (pps / builtin80).toFixed(2)
    } | ${(pps / libsrtp80).toFixed(2)} |`,
  );
}

// 2. The FFI crossing: libc memcmp(a, b, 0) has the shape of srtp_protect (pointer-ish, two
//    buffers, int result) and does nothing, so its cost is the call itself.
const libc = Deno.dlopen("libc.so.6", {
  memcmp: { parameters: ["buffer", "buffer", "usize"], result: "i32" },
});
const probe = new Uint8Array(16);
const ffi = measure({
  "FFI call (memcmp n=0)": (n) => {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += libc.symbols.memcmp(work, probe, 0n);
    return sum;
  },
});
const callPps = ffi["FFI call (memcmp n=0)"]!;
console.log(
  `\nFFI: one call ${(1e9 / callPps).toFixed(0)} ns; a libsrtp round trip makes two, ` +
    `${(100 * 2 * libsrtp80 / callPps).toFixed(1)}% of its ${us(libsrtp80)} µs.`,
);
libc.close();

// 3. The builtin backend's choices, per 172-byte packet plus the 4-byte ROC.
const authKey = crypto.getRandomValues(new Uint8Array(20));
const roc = new Uint8Array(4);
const ipad = new Uint8Array(64).map((_, i) => (authKey[i] ?? 0) ^ 0x36);
const opad = new Uint8Array(64).map((_, i) => (authKey[i] ?? 0) ^ 0x5c);
const innerPad = createHash("sha1").update(ipad);
const outerPad = createHash("sha1").update(opad);
const hmac = new HmacSha1(authKey);
const cipherKey = crypto.getRandomValues(new Uint8Array(16));
const aes = new AesCm(cipherKey, new Uint8Array(14));
const iv = new Uint8Array(16);
const parts = measure({
  "HMAC: createHmac per packet": (n) => {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      sum += createHmac("sha1", authKey).update(plain).update(roc).digest()[0]!;
    }
    return sum;
  },
  "HMAC: createHash, pad states copied": (n) => {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const inner = innerPad.copy().update(plain).update(roc).digest();
      sum += outerPad.copy().update(inner).digest()[0]!;
    }
    return sum;
  },
  "HMAC: TypeScript SHA-1, pad states kept (used)": (n) => {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      hmac.compute(plain, PACKET, i);
      hmac.write(work, 0, 10);
      sum += work[0]!;
    }
    return sum;
  },
  "AES: new aes-128-ctr cipher per packet": (n) => {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      sum += createCipheriv("aes-128-ctr", cipherKey, iv).update(plain.subarray(12))[0]!;
    }
    return sum;
  },
  "AES: one aes-128-ecb cipher, counter blocks (used)": (n) => {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      aes.xor(work, 12, PACKET, 0x11223344, i);
      sum += work[12]!;
    }
    return sum;
  },
});
console.log("\n| builtin building block, per packet | ops/s | µs |");
console.log("| --- | ---: | ---: |");
for (const [name, pps] of Object.entries(parts)) {
  console.log(`| ${name} | ${fmt(pps)} | ${us(pps)} |`);
}

// 4. Memory held by one inbound + outbound pair after one packet each way (RSS, so libsrtp's
//    malloc is counted; rough).
const PAIRS = 2000;
console.log("\n| backend | memory per context pair (RSS delta / pairs) |");
console.log("| --- | ---: |");
for (const backend of Object.keys(OPEN)) {
  const before = Deno.memoryUsage().rss;
  const pairs: SrtpContext[] = [];
  for (let i = 0; i < PAIRS; i++) {
    const master = newMasterKey();
    const suite = SRTP_SUITE.AES_CM_128_HMAC_SHA1_80;
    const tx = OPEN[backend]!(master, { suite, direction: SRTP_DIRECTION.outbound });
    const rx = OPEN[backend]!(master, { suite, direction: SRTP_DIRECTION.inbound });
    load(1);
    rx.unprotectRtp(work, tx.protectRtp(work, PACKET));
    pairs.push(tx, rx);
  }
  const bytes = (Deno.memoryUsage().rss - before) / PAIRS;
  console.log(`| ${backend} | ${(bytes / 1024).toFixed(1)} KiB |`);
  for (const c of pairs) c.close();
}

// 5. OpenSSL through FFI, per packet (the libcrypto backend's choices, see the module comment):
//    AES-128-CTR on one EVP context, new IV per packet; HMAC-SHA1 from a keyed context copied
//    or re-initialised per packet, against the kept SHA_CTX pad states the backend uses.
let openssl: Deno.DynamicLibrary<typeof OPENSSL> | undefined;
const OPENSSL = {
  EVP_CIPHER_CTX_new: { parameters: [], result: "pointer" },
  EVP_aes_128_ctr: { parameters: [], result: "pointer" },
  EVP_EncryptInit_ex: {
    parameters: ["pointer", "pointer", "pointer", "buffer", "buffer"],
    result: "i32",
  },
  EVP_EncryptUpdate: {
    parameters: ["pointer", "buffer", "buffer", "buffer", "i32"],
    result: "i32",
  },
  EVP_sha1: { parameters: [], result: "pointer" },
  HMAC_CTX_new: { parameters: [], result: "pointer" },
  HMAC_Init_ex: { parameters: ["pointer", "buffer", "i32", "pointer", "pointer"], result: "i32" },
  HMAC_CTX_copy: { parameters: ["pointer", "pointer"], result: "i32" },
  HMAC_Update: { parameters: ["pointer", "buffer", "usize"], result: "i32" },
  HMAC_Final: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  EVP_MAC_fetch: { parameters: ["pointer", "buffer", "pointer"], result: "pointer" },
  EVP_MAC_CTX_new: { parameters: ["pointer"], result: "pointer" },
  OSSL_PARAM_construct_utf8_string: {
    parameters: ["buffer", "buffer", "usize"],
    result: { struct: ["pointer", "u32", "pointer", "usize", "usize"] },
  },
  EVP_MAC_init: { parameters: ["pointer", "buffer", "usize", "buffer"], result: "i32" },
  EVP_MAC_update: { parameters: ["pointer", "buffer", "usize"], result: "i32" },
  EVP_MAC_final: { parameters: ["pointer", "buffer", "buffer", "usize"], result: "i32" },
} as const;
try {
  openssl = Deno.dlopen("libcrypto.so.3", OPENSSL);
} catch {
  console.log("\n(libcrypto.so.3 not loadable: OpenSSL rows skipped)");
}
if (openssl !== undefined) {
  const o = openssl.symbols;
  const cipher = o.EVP_CIPHER_CTX_new();
  o.EVP_EncryptInit_ex(cipher, o.EVP_aes_128_ctr(), null, cipherKey, null);
  const keyed = o.HMAC_CTX_new();
  const scratch = o.HMAC_CTX_new();
  o.HMAC_Init_ex(keyed, authKey, authKey.length, o.EVP_sha1(), null);
  const payload = work.subarray(12, PACKET);
  const outLength = new Int32Array(1);
  const digest = new Uint8Array(20);
  const digestLength = new Uint32Array(1);
  const packetLength = BigInt(PACKET);
  // EVP_MAC "HMAC" with digest SHA1: an OSSL_PARAM array of one string and the end marker.
  const cstr = (t: string) => new TextEncoder().encode(t + "\0");
  const mac = o.EVP_MAC_CTX_new(o.EVP_MAC_fetch(null, cstr("HMAC"), null));
  const digestName = cstr("SHA1");
  const params = new Uint8Array(80);
  params.set(o.OSSL_PARAM_construct_utf8_string(cstr("digest"), digestName, 0n));
  o.EVP_MAC_init(mac, authKey, 20n, params);
  const outSize = new BigUint64Array(1);
  const libcryptoHmac = new LibcryptoHmacSha1(authKey);
  const libcryptoAes = new LibcryptoAesCm(cipherKey, new Uint8Array(14));
  const rows = measure({
    "OpenSSL AES-128-CTR via FFI": (n) => {
      for (let i = 0; i < n; i++) {
        iv[15] = i;
        o.EVP_EncryptInit_ex(cipher, null, null, null, iv);
        o.EVP_EncryptUpdate(cipher, payload, outLength, payload, payload.length);
      }
      return outLength[0]!;
    },
    "AES: LibcryptoAesCm.xor (used)": (n) => {
      for (let i = 0; i < n; i++) libcryptoAes.xor(work, 12, PACKET, 0x11223344, i);
      return work[12]!;
    },
    "HMAC: HMAC_CTX_copy from a keyed context (allocates)": (n) => {
      for (let i = 0; i < n; i++) {
        o.HMAC_CTX_copy(scratch, keyed);
        o.HMAC_Update(scratch, work, packetLength);
        o.HMAC_Update(scratch, roc, 4n);
        o.HMAC_Final(scratch, digest, digestLength);
      }
      return digest[0]!;
    },
    "HMAC: HMAC_Init_ex with the same key (allocates)": (n) => {
      for (let i = 0; i < n; i++) {
        o.HMAC_Init_ex(keyed, null, 0, null, null);
        o.HMAC_Update(keyed, work, packetLength);
        o.HMAC_Update(keyed, roc, 4n);
        o.HMAC_Final(keyed, digest, digestLength);
      }
      return digest[0]!;
    },
    "HMAC: EVP_MAC_init with the same key (allocates)": (n) => {
      for (let i = 0; i < n; i++) {
        o.EVP_MAC_init(mac, null, 0n, null);
        o.EVP_MAC_update(mac, work, packetLength);
        o.EVP_MAC_update(mac, roc, 4n);
        o.EVP_MAC_final(mac, digest, outSize, 20n);
      }
      return digest[0]!;
    },
    "HMAC: LibcryptoHmacSha1, SHA_CTX pad states (used)": (n) => {
      for (let i = 0; i < n; i++) {
        libcryptoHmac.compute(work, PACKET, i);
        libcryptoHmac.write(work, PACKET, 10);
      }
      return work[PACKET]!;
    },
  });
  console.log("\n| OpenSSL building block, per packet | ops/s | µs |");
  console.log("| --- | ---: | ---: |");
  for (const [name, pps] of Object.entries(rows)) {
    console.log(`| ${name} | ${fmt(pps)} | ${us(pps)} |`);
  }
  libcryptoAes.close();
  openssl.close();
}
