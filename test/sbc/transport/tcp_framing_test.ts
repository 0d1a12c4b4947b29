import assert from "node:assert/strict";
import {
  type FramedItem,
  MAX_BODY_BYTES,
  MAX_HEADER_BYTES,
  StreamFramer,
} from "../../../sbc/transport/tcp_framing.ts";
import { prng } from "../../kit/prng.ts";

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const text = (b: Uint8Array) => String.fromCharCode(...b);

function message(n: number, body = ""): string {
  return [
    `OPTIONS sip:u${n}@example.com SIP/2.0`,
    `Via: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK${n}`,
    "From: <sip:a@example.com>;tag=1",
    "To: <sip:b@example.com>",
    `Call-ID: frame-${n}`,
    `CSeq: ${n} OPTIONS`,
    n % 2 === 0 ? `Content-Length: ${body.length}` : `l : ${body.length}`,
    "",
    body,
  ].join("\r\n");
}

/** Messages, with RFC 5626 keep-alives between some of them. */
const STREAM_PARTS = [
  message(1),
  "\r\n\r\n",
  message(2, "v=0\r\n\r\n\r\nbody with blank lines\r\n"),
  message(3, "\r\n\r\n"),
  "\r\n",
  message(4, "\x00\xff binary"),
];
const STREAM = STREAM_PARTS.join("");
const EXPECTED = STREAM_PARTS.filter((p) => p.trim() !== "");

function messages(items: FramedItem[]): string[] {
  return items.map((i) => {
    if (!i.ok) throw new Error(i.error);
    return text(i.message);
  });
}

Deno.test("StreamFramer.push() frames messages in one chunk and skips keep-alives", () => {
  assert.deepEqual(messages(new StreamFramer().push(latin1(STREAM))), EXPECTED);
});

Deno.test("StreamFramer.push() frames a stream split at every offset", () => {
  const bytes = latin1(STREAM);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const framer = new StreamFramer();
    const out = [...framer.push(bytes.subarray(0, cut)), ...framer.push(bytes.subarray(cut))];
    assert.deepEqual(messages(out), EXPECTED, `cut at ${cut}`);
  }
});

Deno.test("StreamFramer.push() frames a stream fed one byte at a time", () => {
  const framer = new StreamFramer();
  const out: FramedItem[] = [];
  for (const b of latin1(STREAM)) out.push(...framer.push(Uint8Array.of(b)));
  assert.deepEqual(messages(out), EXPECTED);
});

Deno.test("StreamFramer.push() frames streams split at random offsets", () => {
  const random = prng(0x5eed);
  const bytes = latin1(STREAM.repeat(4));
  for (let round = 0; round < 300; round++) {
    const framer = new StreamFramer();
    const out: FramedItem[] = [];
    // The same scratch buffer is reused for every read, as a socket loop does.
    const scratch = new Uint8Array(1024);
    for (let at = 0; at < bytes.length;) {
      const size = 1 + Math.floor(random() * (random() < 0.5 ? 8 : 700));
      const n = Math.min(size, bytes.length - at);
      scratch.set(bytes.subarray(at, at + n));
      out.push(...framer.push(scratch.subarray(0, n)));
      scratch.fill(0x41);
      at += n;
    }
    assert.deepEqual(messages(out), [...EXPECTED, ...EXPECTED, ...EXPECTED, ...EXPECTED]);
  }
});

Deno.test("StreamFramer.push() accepts LF-only header endings", () => {
  const lf = message(2, "xy").replaceAll("\r\n", "\n");
  assert.deepEqual(messages(new StreamFramer().push(latin1(lf))), [lf]);
});

Deno.test("StreamFramer.push() waits for the rest of a body that starts with CRLFs", () => {
  const framer = new StreamFramer();
  const full = message(2, "\r\n\r\nabcd");
  const cut = full.indexOf("\r\n\r\n") + 6;
  assert.deepEqual(framer.push(latin1(full.slice(0, cut))), []);
  assert.deepEqual(framer.push(latin1(full.slice(cut, -1))), []);
  assert.deepEqual(messages(framer.push(latin1(full.slice(-1)))), [full]);
});

Deno.test("StreamFramer.push() fails a message without Content-Length, then stays closed", () => {
  const framer = new StreamFramer();
  const missing = message(2).replace("Content-Length: 0\r\n", "");
  const out = framer.push(latin1(missing + message(2)));
  assert.equal(out.length, 1);
  assert.deepEqual(out[0], {
    ok: false,
    error: "Cannot frame message: Content-Length header is missing",
  });
  assert.deepEqual(framer.push(latin1(message(2))), []);
});

Deno.test("StreamFramer.push() fails malformed or conflicting Content-Length", () => {
  for (const bad of ["Content-Length: -1", "Content-Length: ten", "Content-Length: 1\r\nl: 2"]) {
    const out = new StreamFramer().push(latin1(message(2).replace("Content-Length: 0", bad)));
    assert.equal(out.length, 1);
    assert.equal(out[0]!.ok, false, bad);
  }
});

Deno.test("StreamFramer.push() fails header blocks and bodies over 64 KiB", () => {
  const framer = new StreamFramer();
  const head = latin1("OPTIONS sip:a@b SIP/2.0\r\nX-Pad: ");
  assert.deepEqual(framer.push(head), []);
  const pad = new Uint8Array(8192).fill(0x61);
  const out: FramedItem[] = [];
  for (let i = 0; i * pad.length <= MAX_HEADER_BYTES && out.length === 0; i++) {
    out.push(...framer.push(pad));
  }
  assert.equal(out.length, 1);
  assert.match(out[0]!.ok ? "" : out[0]!.error, /header block is larger than 65536 bytes/);

  const big = new StreamFramer().push(
    latin1(message(2).replace("Content-Length: 0", `Content-Length: ${MAX_BODY_BYTES + 1}`)),
  );
  assert.match(big[0]!.ok ? "" : big[0]!.error, /body of 65537 bytes is larger than 65536/);
});

Deno.test("StreamFramer.push() returns copies that later pushes do not change", () => {
  const framer = new StreamFramer();
  const chunk = latin1(message(2) + message(4));
  const [first] = framer.push(chunk);
  chunk.fill(0);
  framer.push(latin1(message(6)));
  assert.ok(first?.ok);
  assert.equal(text(first.message), message(2));
});
