import assert from "node:assert/strict";
import { uriHeadersEdit } from "../../../sbc/proxy/uri_headers.ts";
import { request } from "../../kit/phone_and_pbx.ts";
import { parse } from "../../kit/sip_text.ts";

const WITH_HEADERS = "sip:100@127.0.1.1?Route=%3Csip:127.0.2.99;lr%3E&Subject=x";

Deno.test("uriHeadersEdit() strips the headers of the received Request-URI", () => {
  const msg = parse(request("INVITE", { uri: WITH_HEADERS }));
  assert.deepEqual(uriHeadersEdit(msg, []), { op: "set-uri", uri: "sip:100@127.0.1.1" });
});

Deno.test("uriHeadersEdit() strips the headers of the Request-URI the route set last", () => {
  const msg = parse(request("INVITE"));
  const edits = [
    { op: "set-uri", uri: "sip:200@127.0.2.10" },
    { op: "append", name: "X-A", value: "1" },
    { op: "set-uri", uri: "sip:300@127.0.2.10;user=phone?Route=%3Csip:x%3E" },
  ] as const;
  assert.deepEqual(uriHeadersEdit(msg, edits), {
    op: "set-uri",
    uri: "sip:300@127.0.2.10;user=phone",
  });
});

Deno.test("uriHeadersEdit() has nothing to do for a Request-URI without headers", () => {
  assert.equal(uriHeadersEdit(parse(request("INVITE")), []), undefined);
  // The route's own URI wins over the received one's headers.
  const msg = parse(request("INVITE", { uri: WITH_HEADERS }));
  assert.equal(uriHeadersEdit(msg, [{ op: "set-uri", uri: "sip:100@127.0.2.10" }]), undefined);
  const user = parse(request("OPTIONS", { uri: "sip:a?b@127.0.1.1" }));
  assert.equal(uriHeadersEdit(user, []), undefined, "a ? of the user part");
});
