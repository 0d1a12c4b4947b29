import assert from "node:assert/strict";
import { getHeaderValues, parseMessage } from "../../../sbc/message/message.ts";
import { type Edit } from "../../../sbc/message/sip_message.ts";
import { serializeMessage, toBytes } from "../../../sbc/message/serialize.ts";
import { buildResponse } from "../../../sbc/message/response.ts";
import { StreamFramer } from "../../../sbc/transport/tcp_framing.ts";
import { parseUri } from "../../../sbc/message/uri.ts";
import { prng } from "../../kit/prng.ts";

const FIXTURES = new URL("../../fixtures/sip/", import.meta.url);

const SPECIAL = [13, 10, 0, 34, 44, 59, 58, 60, 62, 32, 9, 92, 0xff, 0x80];

function mutate(input: Uint8Array, random: () => number): Uint8Array {
  let bytes: Uint8Array = input.slice();
  const int = (n: number) => Math.floor(random() * n);
  const rounds = 1 + int(4);
  for (let r = 0; r < rounds; r++) {
    const at = int(bytes.length + 1);
    switch (int(5)) {
      case 0: // flip bits of one byte
        if (bytes.length > 0) bytes[Math.min(at, bytes.length - 1)]! ^= 1 << int(8);
        break;
      case 1: // truncate
        bytes = bytes.slice(0, at);
        break;
      case 2: { // duplicate a slice in place
        const len = int(64);
        const dup = bytes.slice(at, at + len);
        bytes = concat(bytes.subarray(0, at), dup, bytes.subarray(at));
        break;
      }
      case 3: // insert a byte that means something to the parser
        bytes = concat(
          bytes.subarray(0, at),
          Uint8Array.of(SPECIAL[int(SPECIAL.length)]!),
          bytes.subarray(at),
        );
        break;
      default: // delete a few bytes
        bytes = concat(bytes.subarray(0, at), bytes.subarray(at + 1 + int(8)));
    }
  }
  return bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const EDITS: readonly Edit[] = [
  { op: "prepend", name: "via", value: "SIP/2.0/UDP 203.0.113.1;branch=z9hG4bKfz" },
  { op: "remove-first-value", name: "route" },
  { op: "prepend", name: "record-route", value: "<sip:203.0.113.1;lr>" },
  { op: "replace", index: 1, value: "69" },
  { op: "set-uri", uri: "sip:fuzz@192.0.2.1" },
  { op: "append", name: "x-fuzz", value: "1" },
  { op: "remove-all", name: "contact" },
  { op: "body", body: "v=0\r\n", contentType: "application/sdp" },
];

function seeds(): Uint8Array[] {
  return [...Deno.readDirSync(FIXTURES)]
    .filter((e) => e.name.endsWith(".sip"))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((e) => Deno.readFileSync(new URL(e.name, FIXTURES)));
}

Deno.test("parseMessage() never throws on mutated messages, nor serializeMessage() on what it accepts", () => {
  const random = prng(20240611);
  const inputs = seeds();
  let accepted = 0;
  let partials = 0;
  for (let i = 0; i < 4000; i++) {
    const input = mutate(inputs[i % inputs.length]!, random);
    const r = parseMessage(input);
    const msg = r.ok ? r.value : r.error.partial;
    if (!r.ok) {
      assert.doesNotMatch(r.error.message, /[\r\n]/, `iteration ${i}`);
      if (msg !== undefined) partials++;
    } else accepted++;
    if (msg === undefined) continue;
    getHeaderValues(msg, "route");
    parseUri(msg.uri);
    if (msg.kind === "request") buildResponse(msg, 400, "Bad Request", { toTag: "x" });
    if (!r.ok) continue;
    const out = serializeMessage(msg, EDITS.slice(0, 1 + (i % EDITS.length)));
    // Re-parsing what we would send must not throw either.
    parseMessage(toBytes(out));
  }
  assert.ok(accepted > 400, `only ${accepted} mutated messages were accepted`);
  assert.ok(partials > 100, `only ${partials} partial messages`);
});

Deno.test("StreamFramer.push() never throws on mutated streams", () => {
  const random = prng(7);
  const inputs = seeds();
  for (let i = 0; i < 500; i++) {
    const framer = new StreamFramer();
    const stream = mutate(
      concat(inputs[i % inputs.length]!, inputs[(i + 1) % inputs.length]!),
      random,
    );
    for (let at = 0; at < stream.length;) {
      const n = 1 + Math.floor(random() * 200);
      for (const item of framer.push(stream.subarray(at, at + n))) {
        if (item.ok) parseMessage(item.message);
      }
      at += n;
    }
  }
});
