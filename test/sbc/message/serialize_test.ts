import assert from "node:assert/strict";
import { serializeMessage } from "../../../sbc/message/serialize.ts";
import { parse, sip } from "../../kit/sip_text.ts";

const FIXTURES = new URL("../../fixtures/sip/", import.meta.url);

/** An OPTIONS with `startLine`, and the headers a request needs. */
function options(startLine: string): string {
  return sip([
    startLine,
    "Via: SIP/2.0/UDP 192.0.2.20;branch=z9hG4bKmsp01",
    "From: <sip:caller@example.com>;tag=msp01",
    "To: <sip:user@example.com>",
    "Call-ID: msp01.1@192.0.2.20",
    "CSeq: 17 OPTIONS",
  ]);
}

const firstLine = (text: string) => text.slice(0, text.indexOf("\r\n"));

Deno.test("serializeMessage() writes a request line with single SPs (RFC 4475 §3.1.2.9, §3.1.2.10)", async (t) => {
  const cases: [string, string][] = [
    ["runs of SP", "OPTIONS   sip:user@example.com    SIP/2.0"],
    ["HT and SP mixed", "OPTIONS\t sip:user@example.com \t\tSIP/2.0"],
    ["SP at the end", "OPTIONS sip:user@example.com SIP/2.0  "],
    ["a version in lower case", "OPTIONS sip:user@example.com sip/2.0"],
  ];
  for (const [what, line] of cases) {
    await t.step(what, () => {
      const out = serializeMessage(parse(options(line)), []);
      assert.equal(firstLine(out), "OPTIONS sip:user@example.com SIP/2.0");
    });
  }
  await t.step("the RFC 4475 fixture", () => {
    const msg = parse(Deno.readFileSync(new URL("ok-multiple-sp-in-start-line.sip", FIXTURES)));
    assert.equal(firstLine(serializeMessage(msg, [])), "OPTIONS sip:user@example.com SIP/2.0");
  });
  await t.step("with a set-uri edit", () => {
    const msg = parse(options("OPTIONS  sip:user@example.com  SIP/2.0"));
    const out = serializeMessage(msg, [{ op: "set-uri", uri: "sip:user@192.0.2.7" }]);
    assert.equal(firstLine(out), "OPTIONS sip:user@192.0.2.7 SIP/2.0");
  });
});

Deno.test("serializeMessage() keeps the method as received: methods are case-sensitive", () => {
  const out = serializeMessage(
    parse(
      options("options  sip:user@example.com SIP/2.0").replace(
        "CSeq: 17 OPTIONS",
        "CSeq: 17 options",
      ),
    ),
    [],
  );
  assert.equal(firstLine(out), "options sip:user@example.com SIP/2.0");
});

Deno.test("serializeMessage() copies a status line as received", () => {
  const text = sip([
    "SIP/2.0  200   OK  then",
    "Via: SIP/2.0/UDP 192.0.2.20;branch=z9hG4bKmsp01",
    "From: <sip:caller@example.com>;tag=msp01",
    "To: <sip:user@example.com>;tag=u1",
    "Call-ID: msp01.1@192.0.2.20",
    "CSeq: 17 OPTIONS",
  ]);
  assert.equal(firstLine(serializeMessage(parse(text), [])), "SIP/2.0  200   OK  then");
});
