// End-to-end robustness: garbage on the SBC's sockets is answered 400 where a 400 can be built,
// dropped where it cannot, never forwarded, and does not stop the SBC serving calls.
import assert from "node:assert/strict";
import { prng } from "../kit/prng.ts";
import {
  ADDRESS,
  assertAllCallsSucceeded,
  headerValues,
  runSipp,
  type SippResult,
  sleep,
  startSippServer,
  usingPorts,
  withSbc,
} from "./_harness.ts";

/** Where the garbage says it comes from: the sender's own socket, answers to the source (rport). */
interface From {
  readonly port: number;
}

/**
 * An INVITE whose Max-Forwards: 0 comes first, so every variant that still parses is answered 483
 * by the SBC (RFC 3261 §16.3 step 3) instead of reaching the PBX as a call. Call-ID and branch are
 * fresh each time, so every answer names the datagram it answers.
 */
function invite(to: string, from: From, extra?: string): string {
  const id = crypto.randomUUID();
  return [
    `INVITE sip:service@${to} SIP/2.0`,
    "Max-Forwards: 0",
    `Via: SIP/2.0/UDP ${ADDRESS.phone}:${from.port};branch=z9hG4bK-garbage-${id};rport`,
    "From: <sip:fuzz@127.0.1.10>;tag=1",
    `To: <sip:service@${to}>`,
    `Call-ID: garbage-${id}@127.0.1.10`,
    "CSeq: 1 INVITE",
    "Contact: <sip:fuzz@127.0.1.10:5999>",
    ...(extra === undefined ? [] : [extra]),
    "Content-Type: application/sdp",
    "Content-Length: 4",
    "",
    "v=0\n",
  ].join("\r\n");
}

/** The garbage whose answer is known, by what the SBC must do with it. */
interface Labelled {
  /**
   * Requests (not ACK) with a readable Via and From, To, Call-ID and CSeq lines, yet malformed
   * (a Contact, Route or Record-Route included): 400.
   */
  readonly answerable: string[];
  /** Well-formed enough to handle, at Max-Forwards 0: 100 (INVITE) and 483, never forwarded. */
  readonly handled: string[];
  /** Nothing to build an answer from (no request, no readable Via, no Call-ID), or an ACK: silence. */
  readonly unanswerable: Uint8Array[];
}

function labelled(to: string, from: From, seed: number): Labelled {
  const next = prng(seed);
  const int = (n: number) => Math.floor(next() * n);
  const base = () => invite(to, from);
  const options = () =>
    base().replace("INVITE sip:", "OPTIONS sip:").replace("CSeq: 1 INVITE", "CSeq: 1 OPTIONS");
  const encode = (text: string) => new TextEncoder().encode(text);
  return {
    answerable: [
      base().replace("Max-Forwards: 0", "Max-Forwards: lots"),
      base().replace("Max-Forwards: 0", "Max-Forwards: 300"),
      options().replace("Max-Forwards: 0", "Max-Forwards: lots"),
      base().replace(/^CSeq:.*\r\n/m, "CSeq: x INVITE\r\n"),
      base().replace(/^CSeq:.*\r\n/m, "CSeq: 1 BYE\r\n"),
      base().replace("Content-Length: 4", "Content-Length: 999999"),
      base().replace("Content-Length: 4", "Content-Length: -1"),
      invite(to, from, "NoColonHeader"),
      invite(to, from, "Call-ID: second@127.0.1.10"),
      // a Route or Record-Route entry that is no name-addr (RFC 3261 §16.3 step 1)
      invite(to, from, "Route: <sip:127.0.1.1;lr"),
      invite(to, from, "Record-Route: garbage"),
    ],
    handled: [
      base(),
      invite(to, from, `X-Long: ${"a".repeat(30_000)}`),
      invite(to, from, Array.from({ length: 1000 }, (_, i) => `X-H${i}: ${i}`).join("\r\n")),
    ],
    unanswerable: [
      ...Array.from(
        { length: 100 },
        () => Uint8Array.from({ length: 1 + int(1400) }, () => int(256)),
      ),
      ...[
        "",
        "\r\n\r\n",
        "INVITE\r\n\r\n",
        "INVITE sip: SIP/2.0\r\n\r\n",
        "INVITE sip:x@y SIP/3.0\r\nVia: SIP/2.0/UDP 1.2.3.4\r\n\r\n",
        base().replace(/^Via:.*\r\n/m, ""),
        base().replace(/^Call-ID:.*\r\n/m, ""),
        base().replace(/^Via:.*\r\n/m, "Via: SIP/2.0/UDP [::1:5060;branch=z9hG4bKx;rport\r\n"),
        base().replace("INVITE sip:", "ACK sip:").replace("CSeq: 1 INVITE", "CSeq: 1 ACK")
          .replace("Max-Forwards: 0", "Max-Forwards: lots"),
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.1.1:1;branch=z9hG4bKnone\r\n\r\n",
        "SIP/2.0 999 Weird\r\n\r\n",
        "SIP/2.0 OK\r\n\r\n",
        "ACK sip:nobody@127.0.2.10 SIP/2.0\r\n\r\n",
        "\u0000".repeat(200),
        "A".repeat(60_000),
      ].map(encode),
    ],
  };
}

/** Truncated and byte-flipped INVITEs: some parse, some can be answered, some cannot. */
function mutations(to: string, from: From, seed: number): Uint8Array[] {
  const next = prng(seed);
  const int = (n: number) => Math.floor(next() * n);
  const encode = (text: string) => new TextEncoder().encode(text);
  const out: Uint8Array[] = [];
  for (let i = 0; i < 100; i++) {
    const valid = encode(invite(to, from));
    out.push(valid.slice(0, int(valid.length)));
  }
  for (let i = 0; i < 100; i++) {
    const text = invite(to, from);
    const flipped = encode(text);
    // flips spare the Max-Forwards line, so a variant that still parses is never forwarded
    const keep = text.indexOf("Max-Forwards: 0\r\n");
    for (let j = 0; j < 1 + int(8); j++) {
      const at = int(flipped.length - 17);
      flipped[at < keep ? at : at + 17] = int(256);
    }
    out.push(flipped);
  }
  // a Via the SBC reads but answers elsewhere (no rport: to the Via port, RFC 3261 §18.2.2)
  out.push(encode(invite(to, from).replace(/^Via:.*\r\n/m, "Via: SIP/2.0/XYZ 1.2.3.4:5060\r\n")));
  return out;
}

/** One answer the SBC sent back: its status and the Call-ID it names. */
interface Answer {
  readonly status: number;
  readonly callId: string | undefined;
}

/** A UDP socket at the phone's address that sends datagrams to the SBC and keeps every answer. */
class Sender {
  readonly #conn = Deno.listenDatagram({ transport: "udp", hostname: ADDRESS.phone, port: 0 });
  readonly answers: Answer[] = [];
  readonly #loop = this.#receive();

  get from(): From {
    return { port: (this.#conn.addr as Deno.NetAddr).port };
  }

  async #receive(): Promise<void> {
    for (;;) {
      let data: Uint8Array;
      try {
        [data] = await this.#conn.receive();
      } catch {
        return; // closed
      }
      const text = new TextDecoder().decode(data);
      const status = /^SIP\/2\.0 (\d{3}) /.exec(text);
      this.answers.push({
        status: status ? Number(status[1]) : 0,
        callId: /^(?:Call-ID|i)[ \t]*:[ \t]*(.*?)\r?$/im.exec(text)?.[1],
      });
    }
  }

  /** Sends each datagram to `host:port`, pausing now and then so no socket buffer overflows. */
  async send(host: string, port: number, datagrams: readonly Uint8Array[]): Promise<void> {
    let count = 0;
    for (const datagram of datagrams) {
      // the SBC may answer or drop; either way ignore send errors (ICMP)
      await this.#conn.send(datagram, { transport: "udp", hostname: host, port }).catch(() => {});
      if (++count % 25 === 0) await sleep(5);
    }
  }

  /** Waits until `done()` holds or `ms` passed, then `graceMs` more for answers that should not come. */
  async settle(done: () => boolean, ms: number, graceMs: number): Promise<void> {
    const end = Date.now() + ms;
    while (!done() && Date.now() < end) await sleep(20);
    await sleep(graceMs);
  }

  async close(): Promise<void> {
    this.#conn.close();
    await this.#loop;
  }
}

function callIdOf(text: string): string {
  return /^Call-ID: (.*)$/m.exec(text)![1]!;
}

/** The distinct statuses answered to each Call-ID. */
function statusesByCallId(answers: readonly Answer[]): Map<string | undefined, number[]> {
  const out = new Map<string | undefined, number[]>();
  for (const { status, callId } of answers) {
    const list = out.get(callId) ?? [];
    if (!list.includes(status)) list.push(status);
    out.set(callId, list.sort());
  }
  return out;
}

/** Sends the labelled garbage to one SBC address and checks every answer, and every silence. */
async function labelledBurst(host: string, port: number, seed: number): Promise<void> {
  const sender = new Sender();
  try {
    const garbage = labelled(`${host}:${port}`, sender.from, seed);
    const answerable = garbage.answerable.map(callIdOf);
    const handled = garbage.handled.map(callIdOf);
    const encode = (text: string) => new TextEncoder().encode(text);
    await sender.send(host, port, [
      ...garbage.unanswerable,
      ...garbage.answerable.map(encode),
      ...garbage.handled.map(encode),
    ]);
    const answered = (id: string, want: number[]) =>
      want.every((status) => statusesByCallId(sender.answers).get(id)?.includes(status));
    await sender.settle(
      () =>
        answerable.every((id) => answered(id, [400])) &&
        handled.every((id) => answered(id, [100, 483])),
      5_000,
      500,
    );
    const got = statusesByCallId(sender.answers);
    const where = `from ${host}:${port}`;
    for (const id of answerable) assert.deepEqual(got.get(id), [400], `400 for ${id} ${where}`);
    for (const id of handled) assert.deepEqual(got.get(id), [100, 483], `483 for ${id} ${where}`);
    const known = new Set<string | undefined>([...answerable, ...handled]);
    assert.deepEqual(
      sender.answers.filter((a) => !known.has(a.callId)),
      [],
      `unanswerable garbage got nothing ${where}`,
    );
    // stateless 400s are sent once: one per answerable datagram
    assert.equal(sender.answers.filter((a) => a.status === 400).length, answerable.length);
  } finally {
    await sender.close();
  }
}

/** Sends truncated and flipped INVITEs to one SBC address; what is answered is 100, 400 or 483. */
async function mutationBurst(host: string, port: number, seed: number): Promise<void> {
  const sender = new Sender();
  try {
    await sender.send(host, port, mutations(`${host}:${port}`, sender.from, seed));
    await sender.settle(() => false, 0, 1_000);
    const statuses = new Set(sender.answers.map((a) => a.status));
    assert.deepEqual([...statuses].filter((s) => ![100, 400, 483].includes(s)), []);
  } finally {
    await sender.close();
  }
}

async function sendTcpGarbage(host: string, port: number, seed: number): Promise<void> {
  const next = prng(seed);
  const from = { port: 5999 };
  const streams = [
    Uint8Array.from({ length: 20_000 }, () => Math.floor(next() * 256)),
    new TextEncoder().encode(
      invite(`${host}:${port}`, from).replace("Content-Length: 4", "Content-Length: 100000"),
    ),
    new TextEncoder().encode(`INVITE sip:x@${host} SIP/2.0\r\nX: ${"b".repeat(200_000)}`),
    new TextEncoder().encode("\r\n\r\n".repeat(1000) + "garbage\r\n\r\n"),
    new Uint8Array(0),
  ];
  for (const bytes of streams) {
    const conn = await Deno.connect({ hostname: host, port, transport: "tcp" });
    try {
      // the SBC may close on us mid-write; that is a fine answer to garbage
      await conn.write(bytes).catch(() => 0);
    } finally {
      conn.close();
    }
  }
}

/** Requests the PBX received that belong to none of the phone's calls. */
function strayRequests(pbx: SippResult, phone: SippResult): string[] {
  const calls = new Set(
    phone.messages.filter((m) => m.direction === "sent").flatMap((m) =>
      headerValues(m.text, "Call-ID")
    ),
  );
  return pbx.messages
    .filter((m) => m.direction === "received" && !m.text.startsWith("SIP/2.0 "))
    .filter((m) => !headerValues(m.text, "Call-ID").every((id) => calls.has(id)))
    .map((m) => m.text.split("\n")[0]!);
}

Deno.test("malformed UDP and TCP input is answered 400 or dropped, never forwarded, and calls still work", async () => {
  const ports = usingPorts(11);
  await withSbc({ ports }, async () => {
    // the PBX listens from the start: anything the SBC forwarded would reach it
    await using pbx = await startSippServer({
      scenario: "uas-answer-honours-route-set.xml",
      role: "pbx",
      ports,
      calls: 5,
      timeoutMs: 60_000,
    });

    await labelledBurst(ADDRESS.external, ports.sbc, 1);
    await labelledBurst(ADDRESS.internal, ports.sbc, 2);
    await mutationBurst(ADDRESS.external, ports.sbc, 3);
    await mutationBurst(ADDRESS.internal, ports.sbc, 4);
    await sendTcpGarbage(ADDRESS.external, ports.sbc, 5);
    await sendTcpGarbage(ADDRESS.internal, ports.sbc, 6);

    // OPTIONS to the SBC itself (Request-URI sip:127.0.1.1:<port>) is answered 200
    const ping = await runSipp({
      scenario: "uac-options-ping.xml",
      role: "phone",
      ports,
      remote: `${ADDRESS.external}:${ports.sbc}`,
      calls: 3,
      rate: 10,
    });
    assertAllCallsSucceeded(3, { "OPTIONS ping": ping });

    const phone = await runSipp({
      scenario: "uac-call-honours-route-set.xml",
      role: "phone",
      ports,
      remote: `${ADDRESS.external}:${ports.sbc}`,
      calls: 5,
      rate: 10,
    });
    const callee = await pbx.wait(15_000);
    assertAllCallsSucceeded(5, { phone, PBX: callee });
    assert.ok(callee.messages.length > 0, "the PBX's message log was read");
    assert.deepEqual(strayRequests(callee, phone), [], "the PBX got nothing but the phone's calls");
  });
});
