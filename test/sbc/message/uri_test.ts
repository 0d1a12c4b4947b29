import assert from "node:assert/strict";
import { formatUri, parseUri, withoutUriHeaders } from "../../../sbc/message/uri.ts";

Deno.test("parseUri() reads every part of a sip: URI", () => {
  assert.deepEqual(
    parseUri(
      "sip:alice:secret@Atlanta.Example.COM:5061;transport=TCP;LR;maddr=192.0.2.1?subject=x&priority=urgent",
    ),
    {
      scheme: "sip",
      user: "alice",
      password: "secret",
      host: "atlanta.example.com",
      port: 5061,
      params: { transport: "TCP", lr: "", maddr: "192.0.2.1" },
      headers: "subject=x&priority=urgent",
    },
  );
});

Deno.test("parseUri() reads hosts without a user and IPv6 references", () => {
  assert.deepEqual(parseUri("SIPS:[2001:DB8::1]:5061;lr"), {
    scheme: "sips",
    user: undefined,
    password: undefined,
    host: "[2001:db8::1]",
    port: 5061,
    params: { lr: "" },
    headers: undefined,
  });
  const v6 = parseUri("sip:bob@[::1]");
  assert.equal(v6?.host, "[::1]");
  assert.equal(v6?.port, undefined);
  assert.equal(parseUri("sip:192.0.2.7")?.host, "192.0.2.7");
});

Deno.test("parseUri() keeps escapes and semicolons in the user part as received", () => {
  const uri = parseUri("sip:user;par=u%40example.net@example.com;lr");
  assert.equal(uri?.user, "user;par=u%40example.net");
  assert.equal(uri?.host, "example.com");
  assert.deepEqual(uri?.params, { lr: "" });
  assert.equal(parseUri("sip:%61lice%00@example.com")?.user, "%61lice%00");
});

Deno.test("parseUri() reads a tel: URI with the number as host", () => {
  assert.deepEqual(parseUri("tel:+1-201-555-0123;phone-context=example.com"), {
    scheme: "tel",
    user: undefined,
    password: undefined,
    host: "+1-201-555-0123",
    port: undefined,
    params: { "phone-context": "example.com" },
    headers: undefined,
  });
});

Deno.test("parseUri() rejects malformed URIs and other schemes", () => {
  for (
    const bad of [
      "",
      "sip:",
      "sip:@example.com",
      "sip:a@",
      "sip:a b@example.com",
      "sip:example.com:99999",
      "sip:example.com:port",
      "sip:exa mple.com",
      "sip:[zz::1]",
      "<sip:a@b>",
      "http://example.com",
      "tel:",
      "example.com",
      "sip:host;=x",
    ]
  ) {
    assert.equal(parseUri(bad), undefined, bad);
  }
});

Deno.test("formatUri() writes what parseUri() reads", () => {
  for (
    const text of [
      "sip:alice@atlanta.example.com",
      "sips:alice:pw@192.0.2.1:5061;transport=tcp;lr?subject=x",
      "sip:[2001:db8::1]:5070;lr",
      "sip:user;par=u%40example.net@example.com",
      "tel:+12015550123;phone-context=example.com",
    ]
  ) {
    assert.equal(formatUri(parseUri(text)!), text);
  }
  const uri = parseUri("sip:bob@example.com")!;
  assert.equal(
    formatUri({ ...uri, host: "192.0.2.9", port: 5080, params: { lr: "" } }),
    "sip:bob@192.0.2.9:5080;lr",
  );
});

Deno.test("withoutUriHeaders() drops the ?headers of a sip: or sips: URI", async (t) => {
  const cases: [string, string, string][] = [
    [
      "an escaped Route (RFC 4475 §3.1.2.11)",
      "sip:user@example.com?Route=%3Csip:example.com%3E",
      "sip:user@example.com",
    ],
    [
      "several, after parameters",
      "SIPS:bob@host:5061;transport=tcp;lr?Subject=x&Priority=urgent",
      "SIPS:bob@host:5061;transport=tcp;lr",
    ],
    ["without a user part", "sip:host?To=sip:x", "sip:host"],
    ["an empty one", "sip:bob@host?", "sip:bob@host"],
  ];
  for (const [what, uri, bare] of cases) {
    await t.step(what, () => {
      assert.equal(withoutUriHeaders(uri), bare);
      assert.equal(parseUri(bare)?.headers, undefined);
    });
  }
});

Deno.test("withoutUriHeaders() leaves a URI without headers as it is", async (t) => {
  const cases: [string, string][] = [
    ["a plain sip: URI", "sip:bob@host;lr"],
    // RFC 3261 §25.1 user-unreserved: "?" belongs to the user part before "@" (RFC 4475 §3.1.1.2).
    [
      "a user part holding ?",
      "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
    ],
    ["a tel: URI", "tel:+1-555-0100;phone-context=x?y"],
    ["an unknown scheme", "nobodyknowsthisscheme:totally?opaque"],
    ["text without a scheme", "bob@host?x"],
  ];
  for (const [what, uri] of cases) {
    await t.step(what, () => assert.equal(withoutUriHeaders(uri), uri));
  }
  await t.step("what it keeps is what parseUri() reads as user and host", () => {
    const uri = "sip:a?b@host?Route=x";
    assert.deepEqual(parseUri(withoutUriHeaders(uri)), { ...parseUri(uri)!, headers: undefined });
  });
});
