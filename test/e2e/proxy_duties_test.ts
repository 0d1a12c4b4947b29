// A proxy's duties to the PBX (RFC 3261 §16.3, RFC 4475): what the SBC must not pass on is refused
// (420 for a Proxy-Require, 400 for a header it cannot parse) and never reaches the PBX; what it
// passes on leaves in canonical form (one SP between the request-line's elements, no headers
// embedded in the Request-URI). Raw UDP sockets stand in for the phone, the PBX and a victim, so
// the tests see each message exactly as the SBC sent it.
import assert from "node:assert/strict";
import { ADDRESS, headerValues, type Ports, timer, usingPorts, withSbc } from "./_harness.ts";

/** Where a victim of an embedded `Route` listens: inside, where no request should go. */
const VICTIM = "127.0.2.99";

/** A UDP socket that keeps every datagram it receives, in order. */
class Peer implements AsyncDisposable {
  readonly #conn: Deno.DatagramConn;
  readonly #got: string[] = [];
  readonly #loop: Promise<void>;

  constructor(hostname: string, port = 0) {
    this.#conn = Deno.listenDatagram({ transport: "udp", hostname, port });
    this.#loop = this.#receive();
  }

  get addr(): Deno.NetAddr {
    return this.#conn.addr as Deno.NetAddr;
  }

  async #receive(): Promise<void> {
    for (;;) {
      try {
        const [bytes] = await this.#conn.receive();
        this.#got.push(new TextDecoder().decode(bytes));
      } catch {
        return; // closed
      }
    }
  }

  async send(text: string, hostname: string, port: number): Promise<void> {
    await this.#conn.send(new TextEncoder().encode(text), { transport: "udp", hostname, port });
  }

  /** What arrived so far and, waiting up to `ms`, until `done` holds for it. */
  async received(ms: number, done: (got: readonly string[]) => boolean): Promise<string[]> {
    const end = Date.now() + ms;
    while (!done(this.#got) && Date.now() < end) {
      const tick = timer(20, undefined);
      await tick.promise;
    }
    return this.#got.slice();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#conn.close();
    await this.#loop;
  }
}

/** A request `start` from `from`, the `extra` header lines after its Contact. */
function request(
  start: string,
  from: Deno.NetAddr,
  id: string,
  extra: readonly string[] = [],
): string {
  const method = start.split(/[ \t]+/)[0]!;
  return [
    start,
    `Via: SIP/2.0/UDP ${from.hostname}:${from.port};branch=z9hG4bK-${id};rport`,
    "Max-Forwards: 70",
    `From: <sip:alice@${from.hostname}>;tag=${id}`,
    `To: <sip:100@${ADDRESS.external}>`,
    `Call-ID: ${id}@${from.hostname}`,
    `CSeq: 1 ${method}`,
    `Contact: <sip:alice@${from.hostname}:${from.port}>`,
    ...extra,
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n");
}

/** The status of a response's text, or 0 for a request. */
function statusOf(text: string): number {
  return Number(/^SIP\/2\.0 (\d{3}) /.exec(text)?.[1] ?? 0);
}

const isFinal = (text: string) => statusOf(text) >= 200;

/**
 * Sends `text` from a phone to the SBC's external address; the phone's answers up to the final
 * one (or what came within 2 s) and what the PBX got within a grace period after it.
 */
async function refused(ports: Ports, text: (from: Deno.NetAddr) => string) {
  await using pbx = new Peer(ADDRESS.pbx, ports.pbx);
  await using phone = new Peer(ADDRESS.phone);
  await phone.send(text(phone.addr), ADDRESS.external, ports.sbc);
  const answers = await phone.received(2_000, (got) => got.some(isFinal));
  // Whatever the SBC forwards leaves before its final answer; a little more for a slow send.
  const atPbx = await pbx.received(300, () => false);
  return { answers, atPbx };
}

Deno.test("the SBC refuses what a proxy must not pass on, and nothing reaches the PBX", async (t) => {
  const ports = usingPorts(54);
  const to = `sip:100@${ADDRESS.external}:${ports.sbc}`;
  await withSbc({ ports }, async () => {
    await t.step("Proxy-Require: foo is answered 420 with Unsupported: foo", async () => {
      const { answers, atPbx } = await refused(
        ports,
        (from) => request(`OPTIONS ${to} SIP/2.0`, from, "preq1", ["Proxy-Require: foo"]),
      );
      assert.deepEqual(answers.map(statusOf), [420], answers.join("\n"));
      assert.deepEqual(headerValues(answers[0]!, "Unsupported"), ["foo"]);
      assert.deepEqual(atPbx, [], "nothing reached the PBX");
    });

    await t.step(
      "an INVITE with two Proxy-Require tags gets 100, then 420 naming both",
      async () => {
        const { answers, atPbx } = await refused(
          ports,
          (from) =>
            request(`INVITE ${to} SIP/2.0`, from, "preq2", [
              "Proxy-Require: foo",
              "Proxy-Require: bar",
            ]),
        );
        assert.deepEqual(answers.map(statusOf), [100, 420], answers.join("\n"));
        assert.deepEqual(headerValues(answers[1]!, "Unsupported"), ["foo, bar"]);
        assert.deepEqual(atPbx, [], "nothing reached the PBX");
      },
    );

    const malformed: [string, string][] = [
      ["a Contact missing its '>'", "Contact: <sip:a@b"],
      ["an unquoted display name with a comma in From", "From: Bell, Alexander <sip:bell@x>;tag=1"],
      ["an unquoted display name with '<' and '>' in From", "From: Bob <@> <sip:bob@x>;tag=1"],
    ];
    for (const [i, [what, line]] of malformed.entries()) {
      await t.step(`${what} is answered 400 naming the header`, async () => {
        const name = line.slice(0, line.indexOf(":"));
        const { answers, atPbx } = await refused(ports, (from) => {
          const text = request(`INVITE ${to} SIP/2.0`, from, `bad${i}`);
          return text.replace(new RegExp(`^${name}: .*$`, "m"), line);
        });
        assert.deepEqual(answers.map(statusOf), [400], answers.join("\n"));
        assert.match(answers[0]!.split("\r\n")[0]!, new RegExp(`${name} header`));
        assert.deepEqual(atPbx, [], "nothing reached the PBX");
      });
    }
  });
});

Deno.test("the SBC forwards a request line in canonical form, without headers in its Request-URI", async (t) => {
  const ports = usingPorts(55);
  const victimPort = ports.sbc + 7;
  const route = `Route=%3Csip:${VICTIM}:${victimPort};lr%3E`;
  await withSbc({ ports }, async () => {
    await using pbx = new Peer(ADDRESS.pbx, ports.pbx);
    await using phone = new Peer(ADDRESS.phone);
    await using victim = new Peer(VICTIM, victimPort);
    const uri = `sip:100@${ADDRESS.external}:${ports.sbc}`;
    // The SBC retransmits what nobody answers: each step looks for its own Call-ID.
    const first = async (peer: Peer, id: string) => {
      // By From tag: topology hiding shows the phone another Call-ID for the PBX's requests.
      const mine = (text: string) => text.includes(`;tag=${id}\r\n`);
      return (await peer.received(2_000, (got) => got.some(mine))).find(mine);
    };

    await t.step("runs of SP and HT in the request line become single SPs", async () => {
      await phone.send(
        request(`OPTIONS  \t ${uri} \t  SIP/2.0`, phone.addr, "lws1"),
        ADDRESS.external,
        ports.sbc,
      );
      const text = await first(pbx, "lws1");
      assert.ok(text, "the PBX got the request");
      assert.equal(text.split("\r\n")[0], `OPTIONS ${uri} SIP/2.0`);
    });

    await t.step("a Request-URI from outside reaches the PBX without its ?headers", async () => {
      await phone.send(
        request(`OPTIONS ${uri}?${route}&Subject=x SIP/2.0`, phone.addr, "uh1"),
        ADDRESS.external,
        ports.sbc,
      );
      const text = await first(pbx, "uh1");
      assert.ok(text, "the PBX got the request");
      assert.equal(text.split("\r\n")[0], `OPTIONS ${uri} SIP/2.0`);
      assert.deepEqual(headerValues(text, "Route"), [], text);
      assert.deepEqual(headerValues(text, "Subject"), [], text);
    });

    await t.step("a Request-URI from the PBX reaches the phone without its ?headers", async () => {
      const target = `sip:alice@${ADDRESS.phone}:${phone.addr.port}`;
      await pbx.send(
        request(`OPTIONS ${target}?${route} SIP/2.0`, pbx.addr, "uh2"),
        ADDRESS.internal,
        ports.sbc,
      );
      const text = await first(phone, "uh2");
      assert.ok(text, "the phone got the request");
      assert.equal(text.split("\r\n")[0], `OPTIONS ${target} SIP/2.0`);
      assert.deepEqual(headerValues(text, "Route"), [], text);
    });

    assert.deepEqual(await victim.received(300, () => false), [], "nothing reached the victim");
  });
});
