import assert from "node:assert/strict";
import { getHeader, getHeaderValues, parseMessage } from "../../../sbc/message/message.ts";
import { buildResponse, SIP_STATUS_TEXT } from "../../../sbc/message/response.ts";
import { parse } from "../../kit/sip_text.ts";

const REQUEST = [
  "INVITE sip:bob@example.com SIP/2.0",
  "Via: SIP/2.0/UDP 203.0.113.1;branch=z9hG4bKa, SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKb;rport",
  "v: SIP/2.0/TCP 192.0.2.11;branch=z9hG4bKc",
  "Max-Forwards: 70",
  'f: "Alice" <sip:alice@example.org>;tag=1928301774',
  "t: <sip:bob@example.com>",
  "i: resp-1@192.0.2.10",
  "CSeq: 1 INVITE",
  "Contact: <sip:alice@192.0.2.10>",
  "Content-Length: 0",
  "",
  "",
].join("\r\n");

Deno.test("buildResponse() copies Via, From, To, Call-ID and CSeq from the request", () => {
  const out = buildResponse(parse(REQUEST), 486, SIP_STATUS_TEXT[486], { toTag: "srv1" });
  assert.equal(
    out,
    [
      "SIP/2.0 486 Busy Here",
      "Via: SIP/2.0/UDP 203.0.113.1;branch=z9hG4bKa, SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKb;rport",
      "Via: SIP/2.0/TCP 192.0.2.11;branch=z9hG4bKc",
      'From: "Alice" <sip:alice@example.org>;tag=1928301774',
      "To: <sip:bob@example.com>;tag=srv1",
      "Call-ID: resp-1@192.0.2.10",
      "CSeq: 1 INVITE",
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n"),
  );
  const res = parse(out);
  assert.equal(res.status, 486);
  assert.equal(res.vias.length, 3);
  assert.equal(res.toTag, "srv1");
  assert.equal(res.method, "INVITE");
});

Deno.test("buildResponse() keeps a To tag the request already has", () => {
  const req = parse(
    REQUEST.replace("t: <sip:bob@example.com>", "t: <sip:bob@example.com>;tag=dlg"),
  );
  const res = parse(buildResponse(req, 481, SIP_STATUS_TEXT[481], { toTag: "other" }));
  assert.equal(res.toTag, "dlg");
  assert.equal(res.reason, "Call/Transaction Does Not Exist");
});

Deno.test("buildResponse() writes extra headers and a body with its type", () => {
  const out = buildResponse(parse(REQUEST), 200, "OK", {
    headers: [["Allow", "INVITE, ACK, BYE"], ["Contact", "<sip:sbc@203.0.113.1>"]],
    body: "v=0\r\n",
    contentType: "application/sdp",
  });
  const res = parse(out);
  assert.deepEqual(getHeaderValues(res, "allow"), ["INVITE", "ACK", "BYE"]);
  assert.equal(getHeader(res, "content-type"), "application/sdp");
  assert.equal(getHeader(res, "content-length"), "5");
  assert.equal(res.body, "v=0\r\n");
  assert.ok(out.indexOf("CSeq:") < out.indexOf("Allow:"));
});

Deno.test("buildResponse() keeps CR and LF out of the reason phrase and headers", () => {
  const out = buildResponse(parse(REQUEST), 400, "Bad\r\nX-Injected: 1", {
    headers: [["Warning", '399 edge "a\r\nb"']],
  });
  assert.equal(out.split("\r\n")[0], "SIP/2.0 400 Bad X-Injected: 1");
  assert.equal(getHeader(parse(out), "x-injected"), undefined);
});

Deno.test("buildResponse() answers a partial request from a parse error", () => {
  const r = parseMessage(REQUEST.replace("CSeq: 1 INVITE", "CSeq: 1 OPTIONS"));
  assert.ok(!r.ok && r.error.partial !== undefined);
  const out = buildResponse(r.error.partial, 400, r.error.message);
  const res = parse(out);
  assert.equal(res.status, 400);
  assert.ok(out.includes("CSeq: 1 OPTIONS\r\n"));
  assert.match(res.reason, /^Cannot parse CSeq header/);
});

Deno.test("SIP_STATUS_TEXT holds the reason phrases of RFC 3261 §21", () => {
  assert.equal(SIP_STATUS_TEXT[100], "Trying");
  assert.equal(SIP_STATUS_TEXT[408], "Request Timeout");
  assert.equal(SIP_STATUS_TEXT[483], "Too Many Hops");
  assert.equal(SIP_STATUS_TEXT[513], "Message Too Large");
  assert.equal(Object.keys(SIP_STATUS_TEXT).length, 19);
});
