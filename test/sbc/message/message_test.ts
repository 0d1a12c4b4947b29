import assert from "node:assert/strict";
import {
  getHeader,
  getHeaderValues,
  MAX_MESSAGE_SIZE,
  parseMessage,
} from "../../../sbc/message/message.ts";
import { type Edit, PARSE_ERROR, type ParseErrorCode } from "../../../sbc/message/sip_message.ts";
import {
  formatVia,
  parseNameAddr,
  parseNameAddrs,
  parseVia,
} from "../../../sbc/message/header_codecs.ts";
import { serializeMessage, toBytes } from "../../../sbc/message/serialize.ts";
import { parse, sip } from "../../kit/sip_text.ts";

const FIXTURES = new URL("../../fixtures/sip/", import.meta.url);

const SDP = "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n" +
  "m=audio 49170 RTP/AVP 0\r\n";

const INVITE = sip([
  "INVITE sip:bob@example.com SIP/2.0",
  "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport",
  "Max-Forwards: 70",
  'To: "Bob" <sip:bob@example.com>',
  'From: "Alice, A." <sip:alice@example.org;transport=udp>;tag=1928301774',
  "Call-ID: a84b4c76e66710@pc33.example.org",
  "CSeq: 314159 INVITE",
  "Route: <sip:p1.example.net;lr>, <sip:p2.example.net;lr>",
  "Route: <sip:p3.example.net;lr>",
  "Contact: <sip:alice@192.0.2.10:5060>",
  "Content-Type: application/sdp",
], SDP);

function parseErr(text: string | Uint8Array, code: ParseErrorCode) {
  const r = parseMessage(text);
  assert.equal(r.ok, false, "expected a parse error");
  if (r.ok) throw new Error("unreachable");
  assert.equal(r.error.code, code, r.error.message);
  return r.error;
}

/** Expected outcome of each `bad-*.sip` fixture: error code and whether a 400 can be built. */
const BAD_FIXTURES: Record<string, { code: ParseErrorCode; partial: boolean }> = {
  "bad-addr-spec-with-space.sip": { code: PARSE_ERROR.header, partial: true },
  "bad-conflicting-content-length.sip": { code: PARSE_ERROR.contentLength, partial: true },
  "bad-contact-headers-not-enclosed.sip": { code: PARSE_ERROR.header, partial: true },
  "bad-contact-missing-angle.sip": { code: PARSE_ERROR.header, partial: true },
  "bad-contact-star-outside-register.sip": { code: PARSE_ERROR.header, partial: true },
  "bad-content-length-larger-than-body.sip": { code: PARSE_ERROR.contentLength, partial: true },
  "bad-cseq-method-mismatch.sip": { code: PARSE_ERROR.cseq, partial: true },
  "bad-cseq-not-a-number.sip": { code: PARSE_ERROR.cseq, partial: true },
  "bad-cseq-overlarge.sip": { code: PARSE_ERROR.cseq, partial: true },
  "bad-duplicate-call-id.sip": { code: PARSE_ERROR.header, partial: true },
  "bad-garbage-start-line.sip": { code: PARSE_ERROR.startLine, partial: false },
  "bad-header-without-colon.sip": { code: PARSE_ERROR.header, partial: true },
  "bad-max-forwards-not-a-number.sip": { code: PARSE_ERROR.maxForwards, partial: true },
  "bad-max-forwards-too-large.sip": { code: PARSE_ERROR.maxForwards, partial: true },
  "bad-missing-call-id.sip": { code: PARSE_ERROR.missingHeader, partial: false },
  "bad-negative-content-length.sip": { code: PARSE_ERROR.contentLength, partial: true },
  "bad-record-route-not-name-addr.sip": { code: PARSE_ERROR.header, partial: true },
  "bad-request-uri-in-angle-brackets.sip": { code: PARSE_ERROR.uri, partial: true },
  "bad-request-uri-with-spaces.sip": { code: PARSE_ERROR.uri, partial: true },
  "bad-response-missing-cseq.sip": { code: PARSE_ERROR.missingHeader, partial: false },
  "bad-response-status-overlarge.sip": { code: PARSE_ERROR.startLine, partial: false },
  "bad-sip-version-7.sip": { code: PARSE_ERROR.startLine, partial: true },
  "bad-unquoted-display-name.sip": { code: PARSE_ERROR.header, partial: true },
  "bad-unterminated-quote.sip": { code: PARSE_ERROR.header, partial: true },
  "bad-via-sent-by.sip": { code: PARSE_ERROR.via, partial: false },
  "bad-via-version.sip": { code: PARSE_ERROR.via, partial: false },
};

Deno.test("parseMessage() accepts every ok-*.sip fixture and rejects every bad-*.sip one", async (t) => {
  const names = [...Deno.readDirSync(FIXTURES)].map((e) => e.name).filter((n) => n.endsWith(".sip"))
    .sort();
  assert.ok(names.length >= 40);
  for (const name of names) {
    await t.step(name, () => {
      const bytes = Deno.readFileSync(new URL(name, FIXTURES));
      if (name.startsWith("ok-")) {
        const msg = parse(bytes);
        // Serializing without edits and parsing again gives the same message.
        const again = parse(serializeMessage(msg, []));
        assert.equal(again.callId, msg.callId);
        assert.deepEqual(again.vias, msg.vias);
        assert.deepEqual(again.cseq, msg.cseq);
        assert.equal(again.body, msg.body);
        assert.equal(again.uri, msg.uri);
      } else {
        const expected = BAD_FIXTURES[name];
        assert.ok(expected, `${name} has no entry in BAD_FIXTURES`);
        const error = parseErr(bytes, expected.code);
        assert.equal(error.partial !== undefined, expected.partial, error.message);
        assert.doesNotMatch(error.message, /[\r\n]/);
        assert.match(error.message, /^Cannot parse /);
      }
    });
  }
});

Deno.test("parseMessage() fills the eager fields of an INVITE", () => {
  const msg = parse(toBytes(INVITE));
  assert.equal(msg.kind, "request");
  assert.equal(msg.method, "INVITE");
  assert.equal(msg.uri, "sip:bob@example.com");
  assert.equal(msg.status, 0);
  assert.equal(msg.callId, "a84b4c76e66710@pc33.example.org");
  assert.deepEqual(msg.cseq, { seq: 314159, method: "INVITE" });
  assert.equal(msg.fromTag, "1928301774");
  assert.equal(msg.toTag, undefined);
  assert.equal(msg.maxForwards, 70);
  assert.equal(msg.body, SDP);
  assert.equal(msg.raw, INVITE);
  assert.deepEqual(msg.vias, [{
    transport: "UDP",
    host: "192.0.2.10",
    port: 5060,
    branch: "z9hG4bK776asdhds",
    params: { branch: "z9hG4bK776asdhds", rport: "" },
  }]);
  const first = msg.headers[0]!;
  assert.equal(first.name, "via");
  assert.equal(msg.raw.slice(first.start, first.end), `Via: ${first.value}\r\n`);
});

Deno.test("parseMessage() reads a response and takes the method from CSeq", () => {
  const msg = parse(sip([
    "SIP/2.0 180 Ringing",
    "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1",
    "From: <sip:a@example.com>;tag=a",
    "To: <sip:b@example.com>;tag=b",
    "Call-ID: r1",
    "CSeq: 7 INVITE",
  ]));
  assert.equal(msg.kind, "response");
  assert.equal(msg.status, 180);
  assert.equal(msg.reason, "Ringing");
  assert.equal(msg.method, "INVITE");
  assert.equal(msg.uri, "");
  assert.equal(msg.toTag, "b");
  assert.equal(msg.maxForwards, undefined);
});

Deno.test("parseMessage() expands every compact header form", () => {
  const msg = parse(
    Deno.readFileSync(new URL("ok-all-compact-forms.sip", FIXTURES)),
  );
  const names = msg.headers.map((h) => h.name);
  assert.deepEqual(names, [
    "via",
    "from",
    "to",
    "call-id",
    "cseq",
    "contact",
    "supported",
    "subject",
    "content-encoding",
    "event",
    "refer-to",
    "allow-events",
    "session-expires",
    "referred-by",
    "accept-contact",
    "reject-contact",
    "request-disposition",
    "content-type",
    "content-length",
  ]);
  assert.equal(msg.fromTag, "cmp01");
  assert.equal(getHeader(msg, "Content-Type"), "application/sdp");
  assert.equal(getHeader(msg, "y"), undefined);
});

Deno.test("parseMessage() unfolds continuation lines and tolerates LWS around colons", () => {
  const msg = parse(Deno.readFileSync(new URL("ok-whitespace-torture.sip", FIXTURES)));
  assert.equal(getHeader(msg, "to"), '"Carol \\"C\\" Smith"   <sip:carol@chicago.example.net>');
  assert.equal(getHeader(msg, "newfangledheader"), "newfangled value continued newfangled value");
  assert.deepEqual(msg.cseq, { seq: 9, method: "INVITE" });
  assert.equal(msg.maxForwards, 68);
  assert.equal(msg.fromTag, "8a7f2c");
  assert.equal(msg.vias.length, 2);
  assert.equal(msg.vias[0]!.branch, "z9hG4bKws77a1");
  assert.equal(msg.vias[1]!.params.received, "198.51.100.1");
  assert.equal(getHeader(msg, "subject"), "");
  assert.deepEqual(getHeaderValues(msg, "contact"), [
    '"Quoted, Name" <sip:ted@198.51.100.20>',
    "<sip:ted@backup.example.net;transport=tcp>",
  ]);
  assert.deepEqual(parseNameAddrs(getHeader(msg, "route")!).map((r) => r.params), [{}, {}]);
  assert.deepEqual(
    parseNameAddrs(getHeader(msg, "route")!).map((r) => r.uri),
    ["sip:proxy.example.net;LR;transport=udp", "sip:edge.example.net;Lr"],
  );
});

Deno.test("parseMessage() tolerates LF-only line endings", () => {
  const msg = parse(INVITE.replaceAll("\r\n", "\n").replace(/Content-Length: \d+/, "l: 76"));
  assert.equal(msg.callId, "a84b4c76e66710@pc33.example.org");
  assert.equal(msg.body.length, 76);
  assert.equal(msg.vias.length, 1);
});

Deno.test("parseMessage() skips CRLFs before the start line", () => {
  const msg = parse("\r\n\r\n\n" + INVITE);
  assert.equal(msg.raw, INVITE);
  assert.equal(msg.headers[0]!.start, INVITE.indexOf("Via"));
});

Deno.test("parseMessage() collects Via entries across lines and commas, top first", () => {
  const msg = parse(Deno.readFileSync(new URL("ok-unknown-transports.sip", FIXTURES)));
  assert.deepEqual(msg.vias.map((v) => `${v.transport} ${v.host}`), [
    "UDP t1.example.com",
    "SCTP t2.example.com",
    "TLS t3.example.com",
    "UNKNOWN t4.example.com",
    "WSS t5.example.com",
  ]);
});

Deno.test("parseMessage() finds the tag parameter outside quotes and angle brackets", () => {
  const msg = parse(sip([
    "OPTIONS sip:x@example.com SIP/2.0",
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKt",
    'From: "x;tag=no, <really>" <sip:a@example.com;tag=no>;tag=yes',
    "To: sip:b@example.com;tag=bare",
    "Call-ID: t1",
    "CSeq: 1 OPTIONS",
  ]));
  assert.equal(msg.fromTag, "yes");
  assert.equal(msg.toTag, "bare");
});

Deno.test("parseMessage() frames the body with Content-Length", async (t) => {
  const head = [
    "MESSAGE sip:x@example.com SIP/2.0",
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKb",
    "From: <sip:a@example.com>;tag=1",
    "To: <sip:x@example.com>",
    "Call-ID: b1",
    "CSeq: 1 MESSAGE",
  ];
  await t.step("extra datagram octets are dropped", () => {
    const msg = parse(sip([...head, "Content-Length: 5"], "hello, trailing junk"));
    assert.equal(msg.body, "hello");
    assert.ok(msg.raw.endsWith("\r\n\r\nhello"));
  });
  await t.step("without Content-Length the body is the rest of the datagram", () => {
    assert.equal(parse(sip(head, "all of it\r\n", { length: false })).body, "all of it\r\n");
  });
  await t.step("a missing empty line means no body", () => {
    const msg = parse(head.join("\r\n") + "\r\n");
    assert.equal(msg.body, "");
    assert.equal(msg.headers.length, 5);
  });
  await t.step("a short body is an error with a partial message", () => {
    const error = parseErr(sip([...head, "Content-Length: 50"], "short"), "SIP_BAD_CONTENT_LENGTH");
    assert.equal(error.partial?.callId, "b1");
  });
  await t.step("equal duplicate Content-Length values are accepted", () => {
    assert.equal(parse(sip([...head, "Content-Length: 2", "l: 2"], "ok")).body, "ok");
  });
  await t.step("binary body bytes pass through unchanged", () => {
    const body = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
    const bytes = toBytes(sip(head, body));
    const msg = parse(bytes);
    assert.equal(msg.body, body);
    assert.deepEqual(toBytes(serializeMessage(msg, [])), bytes);
  });
});

Deno.test("parseMessage() reads a Uint8Array view at an offset", () => {
  const bytes = toBytes("garbage" + INVITE + "more");
  const view = bytes.subarray(7, 7 + INVITE.length);
  assert.equal(parse(view).raw, INVITE);
});

Deno.test("parseMessage() rejects empty, oversized and non-SIP input without a partial", () => {
  assert.equal(parseErr("", "SIP_EMPTY").partial, undefined);
  assert.equal(parseErr("\r\n\r\n", "SIP_EMPTY").partial, undefined);
  const big = INVITE.replace("\r\n\r\n", `\r\nX-Pad: ${"a".repeat(MAX_MESSAGE_SIZE)}\r\n\r\n`);
  assert.equal(parseErr(big, "SIP_TOO_LARGE").partial, undefined);
  parseErr("HTTP/1.1 200 OK\r\n\r\n", "SIP_BAD_START_LINE");
  parseErr("SIP/2.0 99 Low\r\n\r\n", "SIP_BAD_START_LINE");
  parseErr("SIP/2.0 2000 OK\r\n\r\n", "SIP_BAD_START_LINE");
  parseErr("INVITE\r\n\r\n", "SIP_BAD_START_LINE");
});

Deno.test("parseMessage() reports a missing mandatory header by name", () => {
  for (const name of ["Via", "From", "To", "Call-ID", "CSeq"]) {
    const text = INVITE.split("\r\n").filter((l) => !l.startsWith(name + ":")).join("\r\n");
    const error = parseErr(text, "SIP_MISSING_HEADER");
    assert.equal(error.message, `Cannot parse message: ${name} header is missing`);
    assert.equal(error.partial, undefined);
  }
});

Deno.test("parseMessage() gives a partial request that still carries the reply headers", () => {
  const error = parseErr(INVITE.replace("CSeq: 314159 INVITE", "CSeq: 314159 BYE"), "SIP_BAD_CSEQ");
  assert.equal(
    error.message,
    `Cannot parse CSeq header "314159 BYE": method does not match request method "INVITE"`,
  );
  const partial = error.partial!;
  assert.equal(partial.method, "INVITE");
  assert.equal(partial.vias[0]!.branch, "z9hG4bK776asdhds");
  assert.equal(getHeader(partial, "cseq"), "314159 BYE");
});

Deno.test("parseMessage() never gives a partial for a malformed response", () => {
  const text = sip([
    "SIP/2.0 200 OK",
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1",
    "From: <sip:a@example.com>;tag=1",
    "To: <sip:b@example.com>;tag=2",
    "Call-ID: x",
    "CSeq: x INVITE",
  ]);
  assert.equal(parseErr(text, "SIP_BAD_CSEQ").partial, undefined);
});

Deno.test("getHeader() accepts any case and the compact form", () => {
  const msg = parse(INVITE);
  assert.equal(getHeader(msg, "CALL-ID"), msg.callId);
  assert.equal(getHeader(msg, "i"), msg.callId);
  assert.equal(getHeader(msg, "I"), msg.callId);
  assert.equal(getHeader(msg, "route"), "<sip:p1.example.net;lr>, <sip:p2.example.net;lr>");
  assert.equal(getHeader(msg, "x-missing"), undefined);
});

Deno.test("getHeaderValues() splits entries across lines outside quotes and brackets", () => {
  const msg = parse(sip([
    "OPTIONS sip:x@example.com SIP/2.0",
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKv",
    "From: <sip:a@example.com>;tag=1",
    "To: <sip:x@example.com>",
    "Call-ID: v1",
    "CSeq: 1 OPTIONS",
    'Contact: "Doe, \\"J\\", Jr" <sip:j@example.com;x=a,b>;q=0.5, <sip:k@example.com>',
    "Contact: sip:l@example.com",
    "Date: Sat, 13 Nov 2010 23:29:00 GMT",
    'Authorization: Digest username="a", realm="b", nonce="c"',
    "Allow: INVITE,ACK , ,BYE",
  ]));
  const contacts = getHeaderValues(msg, "m");
  assert.deepEqual(contacts, [
    '"Doe, \\"J\\", Jr" <sip:j@example.com;x=a,b>;q=0.5',
    "<sip:k@example.com>",
    "sip:l@example.com",
  ]);
  contacts.pop();
  assert.equal(getHeaderValues(msg, "contact").length, 3, "the cache hands out copies");
  assert.deepEqual(getHeaderValues(msg, "date"), ["Sat, 13 Nov 2010 23:29:00 GMT"]);
  assert.equal(getHeaderValues(msg, "authorization").length, 1);
  assert.deepEqual(getHeaderValues(msg, "allow"), ["INVITE", "ACK", "BYE"]);
  assert.deepEqual(getHeaderValues(msg, "record-route"), []);
  assert.equal(parseNameAddr(contacts[0]!)?.display, 'Doe, "J", Jr');
});

Deno.test("parseNameAddr() reads name-addr and addr-spec forms", () => {
  assert.deepEqual(parseNameAddr('"Display, Name" <sip:a@b;lr>;tag=x'), {
    display: "Display, Name",
    uri: "sip:a@b;lr",
    params: { tag: "x" },
  });
  assert.deepEqual(parseNameAddr("<sip:x>"), { display: undefined, uri: "sip:x", params: {} });
  assert.deepEqual(parseNameAddr("Bob Smith <sips:bob@example.com> ; tag = 9 ;Expires=60"), {
    display: "Bob Smith",
    uri: "sips:bob@example.com",
    params: { tag: "9", expires: "60" },
  });
  assert.deepEqual(parseNameAddr("sip:a@b;tag=x;lr"), {
    display: undefined,
    uri: "sip:a@b",
    params: { tag: "x", lr: "" },
  });
  assert.deepEqual(parseNameAddr('<urn:x>;+sip.instance="<urn:uuid:1;2>"'), {
    display: undefined,
    uri: "urn:x",
    params: { "+sip.instance": '"<urn:uuid:1;2>"' },
  });
  assert.equal(parseNameAddr('"unterminated <sip:a@b>'), undefined);
  assert.equal(parseNameAddr("<sip:a@b"), undefined);
  assert.equal(parseNameAddr("*"), undefined);
  assert.equal(parseNameAddr(""), undefined);
  assert.equal(parseNameAddr("sip:a b@c"), undefined);
});

Deno.test("parseNameAddr() reads an unquoted display name of tokens and LWS only (RFC 3261 §25.1)", () => {
  // RFC 4475 §3.1.1.2 and §3.1.1.6: every token character, and no LWS before "<".
  assert.equal(
    parseNameAddr("token1~` token2'+_ token3*%!.- <sip:mundane@example.com>")?.display,
    "token1~` token2'+_ token3*%!.-",
  );
  assert.equal(parseNameAddr("caller<sip:caller@example.com>;tag=323")?.display, "caller");
  // Not tokens, but no separators either: UTF-8 (here as latin1 chars) is let through.
  assert.equal(parseNameAddr("J\xc3\xbcrgen <sip:j@example.com>")?.display, "J\xc3\xbcrgen");
  // RFC 4475 §3.1.2.15: separators in an unquoted display name.
  for (
    const bad of [
      "Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
      "Bob <@> <sip:bob@example.com>",
      "Bob> <sip:bob@example.com>",
      "Mr. Q. User; Esq. <sip:q@example.com>",
      'Bob "B" <sip:bob@example.com>',
      "Bob@home <sip:bob@example.com>",
    ]
  ) {
    assert.equal(parseNameAddr(bad), undefined, bad);
  }
});

Deno.test("parseNameAddr() wants <> around a URI holding ? or , (RFC 3261 §20, RFC 8217)", () => {
  // RFC 4475 §3.1.2.13: without <>, the URI's headers cannot be told from the header's.
  assert.equal(parseNameAddr("sip:user@example.com?Route=%3Csip:sip.example.com%3E"), undefined);
  assert.equal(parseNameAddr("sip:a,b@example.com;tag=1"), undefined);
  assert.equal(
    parseNameAddr("<sip:user@example.com?Route=%3Csip:sip.example.com%3E>")?.uri,
    "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
  );
});

Deno.test("parseNameAddrs() reads a Route list", () => {
  const routes = parseNameAddrs("<sip:p1.example.net;lr>, <sip:p2.example.net;LR>,<sip:p3>");
  assert.deepEqual(routes.map((r) => r.uri), [
    "sip:p1.example.net;lr",
    "sip:p2.example.net;LR",
    "sip:p3",
  ]);
});

Deno.test("parseVia() reads transports, IPv6, ports and parameters", () => {
  assert.deepEqual(
    parseVia("SIP/2.0/udp [2001:db8::1]:5070;branch=z9hG4bK1;rport;received=2001:db8::2"),
    [{
      transport: "UDP",
      host: "[2001:db8::1]",
      port: 5070,
      branch: "z9hG4bK1",
      params: { branch: "z9hG4bK1", rport: "", received: "2001:db8::2" },
    }],
  );
  const spaced = parseVia("SIP / 2.0 / TCP  host.example.com : 5061 ; BRANCH = z9hG4bKx ; ttl=1");
  assert.equal(spaced.length, 1);
  assert.equal(spaced[0]!.port, 5061);
  assert.equal(spaced[0]!.branch, "z9hG4bKx");
  assert.equal(parseVia("SIP/2.0/UDP a, SIP/2.0/TCP b:1").length, 2);
  for (
    const bad of [
      "",
      "SIP/2.0/UDP",
      "SIP/2.0 UDP host",
      "SIP/2.0/UDP host:99999",
      "SIP/2.0/UDP host:",
      "SIP/2.0/UDP [zz::1]",
      "SIP/2.0/UDP host junk",
      'SIP/2.0/UDP host;branch="unterminated',
      "SIP/2.0/UDP good, bad",
    ]
  ) {
    assert.deepEqual(parseVia(bad), [], bad);
  }
});

Deno.test("formatVia() writes what parseVia() reads", () => {
  const text = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport=5062;received=198.51.100.9";
  const via = parseVia(text)[0]!;
  assert.equal(formatVia(via), text);
  assert.equal(
    formatVia({ ...via, params: { ...via.params, rport: "40000" } }),
    "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport=40000;received=198.51.100.9",
  );
  assert.equal(
    formatVia({ transport: "TCP", host: "[::1]", port: undefined, branch: "z9hG4bKb", params: {} }),
    "SIP/2.0/TCP [::1];branch=z9hG4bKb",
  );
});

Deno.test("serializeMessage() copies an unedited message byte for byte", () => {
  const msg = parse(INVITE);
  assert.equal(serializeMessage(msg, []), INVITE);
});

Deno.test("serializeMessage() applies each edit", async (t) => {
  const msg = parse(INVITE);
  const lines = (edits: readonly Edit[]) => serializeMessage(msg, edits).split("\r\n");

  await t.step("set-uri rewrites the request line", () => {
    assert.equal(
      lines([{ op: "set-uri", uri: "sip:bob@192.0.2.99:5080" }])[0],
      "INVITE sip:bob@192.0.2.99:5080 SIP/2.0",
    );
  });
  await t.step("prepend puts a Via above the first Via", () => {
    const out = lines([
      { op: "prepend", name: "v", value: "SIP/2.0/UDP 203.0.113.1;branch=z9hG4bKa" },
      { op: "prepend", name: "Via", value: "SIP/2.0/UDP 203.0.113.1;branch=z9hG4bKb" },
    ]);
    assert.deepEqual(out.slice(1, 4), [
      "Via: SIP/2.0/UDP 203.0.113.1;branch=z9hG4bKb",
      "Via: SIP/2.0/UDP 203.0.113.1;branch=z9hG4bKa",
      "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport",
    ]);
  });
  await t.step("prepend of a new header goes to the top of the headers", () => {
    assert.equal(
      lines([{ op: "prepend", name: "record-route", value: "<sip:e;lr>" }])[1],
      "Record-Route: <sip:e;lr>",
    );
  });
  await t.step("prepend of an existing header goes above its first line", () => {
    const out = lines([{ op: "prepend", name: "route", value: "<sip:p0;lr>" }]);
    const at = out.indexOf("Route: <sip:p0;lr>");
    assert.equal(out[at + 1], "Route: <sip:p1.example.net;lr>, <sip:p2.example.net;lr>");
  });
  await t.step("append adds a line after the last header", () => {
    const out = lines([{ op: "append", name: "x-edge", value: "1" }, {
      op: "append",
      name: "path",
      value: "<sip:p>",
    }]);
    const end = out.indexOf("");
    // Content-Length stays where it was received, so appended lines follow it.
    assert.deepEqual(out.slice(end - 3, end), [
      `Content-Length: ${SDP.length}`,
      "X-Edge: 1",
      "Path: <sip:p>",
    ]);
  });
  await t.step("remove-first-value drops the first entry of a joined line", () => {
    const out = lines([{ op: "remove-first-value", name: "route" }]);
    assert.ok(out.includes("Route: <sip:p2.example.net;lr>"));
    assert.ok(out.includes("Route: <sip:p3.example.net;lr>"));
  });
  await t.step("remove-first-value on single-value lines removes them one by one", () => {
    const routes = (s: string) => s.split("\r\n").filter((l) => l.startsWith("Route"));
    const edit = { op: "remove-first-value", name: "Route" } as const;
    assert.deepEqual(routes(serializeMessage(msg, [edit, edit])), [
      "Route: <sip:p3.example.net;lr>",
    ]);
    assert.deepEqual(routes(serializeMessage(msg, [edit, edit, edit])), []);
    assert.deepEqual(routes(serializeMessage(msg, [edit, edit, edit, edit])), []);
  });
  await t.step("remove-all removes every line of the header", () => {
    assert.ok(!lines([{ op: "remove-all", name: "ROUTE" }]).some((l) => l.startsWith("Route")));
  });
  await t.step("replace keeps the received header name", () => {
    const m = parse(INVITE.replace("Max-Forwards: 70", "max-forwards: 70"));
    const index = m.headers.findIndex((h) => h.name === "max-forwards");
    const out = serializeMessage(m, [{ op: "replace", index, value: "69" }]).split("\r\n");
    assert.equal(out[index + 1], "max-forwards: 69");
    assert.equal(serializeMessage(m, [{ op: "replace", index: 99, value: "x" }]), m.raw);
  });
  await t.step("body replaces the body and Content-Length follows", () => {
    const out = serializeMessage(msg, [{
      op: "body",
      body: "v=0\r\n",
      contentType: "application/sdp",
    }]);
    assert.ok(out.endsWith("Content-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n"));
    assert.equal(parse(out).body, "v=0\r\n");
  });
  await t.step("an empty body drops Content-Type", () => {
    const out = serializeMessage(msg, [{ op: "body", body: "" }]);
    assert.ok(out.endsWith("Contact: <sip:alice@192.0.2.10:5060>\r\nContent-Length: 0\r\n\r\n"));
  });
  await t.step("a body with a new Content-Type adds it when there was none", () => {
    const m = parse(INVITE.replace("Content-Type: application/sdp\r\n", ""));
    const out = serializeMessage(m, [{ op: "body", body: "x", contentType: "text/plain" }]);
    assert.ok(out.endsWith("Content-Length: 1\r\nContent-Type: text/plain\r\n\r\nx"));
  });
});

Deno.test("serializeMessage() rewrites or adds Content-Length", async (t) => {
  const head = [
    "MESSAGE sip:x@example.com SIP/2.0",
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKb",
    "l: 3",
    "From: <sip:a@example.com>;tag=1",
    "To: <sip:x@example.com>",
    "Call-ID: b1",
    "CSeq: 1 MESSAGE",
  ];
  await t.step("in place of the received one, in full form", () => {
    const out = serializeMessage(parse(sip(head, "abc")), []);
    assert.equal(out.split("\r\n")[2], "Content-Length: 3");
  });
  await t.step("after the last header when there was none", () => {
    const text = sip(head.filter((l) => !l.startsWith("l:")), "abc", { length: false });
    const out = serializeMessage(parse(text), []);
    assert.ok(out.endsWith("CSeq: 1 MESSAGE\r\nContent-Length: 3\r\n\r\nabc"));
  });
  await t.step("once, when the received message repeated it", () => {
    const out = serializeMessage(parse(sip([...head, "Content-Length: 3"], "abc")), []);
    assert.equal(out.match(/Content-Length/g)?.length, 1);
    assert.ok(!out.includes("l: 3"));
  });
  await t.step("counting bytes, not UTF-16 code units of decoded text", () => {
    const body = "\xc3\xa9t\xc3\xa9"; // "été" in UTF-8, as latin1 chars
    const out = serializeMessage(parse(sip(head, "abc")), [{ op: "body", body }]);
    assert.ok(out.includes("Content-Length: 5\r\n"));
    assert.equal(parse(toBytes(out)).body, body);
  });
  await t.step("with LF-only received lines kept as they were", () => {
    const text = sip(head, "abc").replaceAll("\r\n", "\n");
    const out = serializeMessage(parse(text), [{ op: "append", name: "x-a", value: "1" }]);
    assert.equal(parse(out).body, "abc");
    assert.equal(getHeader(parse(out), "x-a"), "1");
  });
});

Deno.test("toBytes() maps each char to one byte", () => {
  assert.deepEqual([...toBytes("A\xe9\xff\x00")], [0x41, 0xe9, 0xff, 0x00]);
  assert.deepEqual([...toBytes("plain")], [112, 108, 97, 105, 110]);
});

/** `text` with `line` in place of its Contact line. */
function withLine(text: string, line: string): string {
  return text.replace(/^Contact: .*$/m, line);
}

Deno.test("parseMessage() rejects a request whose Contact, Route or Record-Route is malformed, answerably", async (t) => {
  const cases: [string, string][] = [
    ["Contact", "Contact: <sip:alice@192.0.2.10:5060"],
    ["Contact", "Contact: Alice, A. <sip:alice@192.0.2.10>"],
    ["Contact", "Contact: <sip:alice@192.0.2.10>, sip:x?Subject=y"],
    ["Contact", "m: *"],
    ["Route", "Route: <sip:p1.example.net;lr>, <sip:p2.example.net;lr"],
    ["Record-Route", "Record-Route: garbage"],
  ];
  for (const [label, line] of cases) {
    await t.step(line, () => {
      const error = parseErr(withLine(INVITE, line), PARSE_ERROR.header);
      assert.match(error.message, new RegExp(`^Cannot parse ${label} header "`));
      assert.match(error.message, /: name-addr is malformed$|: "\*" is only allowed in REGISTER$/);
      assert.equal(error.partial?.callId, "a84b4c76e66710@pc33.example.org", "a 400 can be built");
    });
  }
  await t.step("each line of a header is checked", () => {
    const text = INVITE.replace("Route: <sip:p3.example.net;lr>", "Route: <sip:p3.example.net;lr");
    assert.match(parseErr(text, PARSE_ERROR.header).message, /^Cannot parse Route header /);
  });
});

Deno.test("parseMessage() accepts Contact: * in a REGISTER only (RFC 3261 §10.2.2)", () => {
  const register = INVITE.replace("INVITE sip:", "REGISTER sip:").replace(
    "CSeq: 314159 INVITE",
    "CSeq: 314159 REGISTER",
  );
  assert.equal(getHeader(parse(withLine(register, "Contact: *")), "contact"), "*");
  const message = parseErr(withLine(INVITE, "Contact: *"), PARSE_ERROR.header).message;
  assert.equal(message, 'Cannot parse Contact header "*": "*" is only allowed in REGISTER');
});

Deno.test("parseMessage() leaves the Contact, Route and Record-Route of a response to the reader", () => {
  const response = sip([
    "SIP/2.0 200 OK",
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds",
    "From: <sip:alice@example.org>;tag=1928301774",
    "To: <sip:bob@example.com>;tag=b1",
    "Call-ID: a84b4c76e66710@pc33.example.org",
    "CSeq: 314159 INVITE",
    "Record-Route: garbage",
    "Contact: <sip:bob@192.0.2.4",
  ]);
  assert.equal(parse(response).status, 200);
});
