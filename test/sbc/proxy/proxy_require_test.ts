import assert from "node:assert/strict";
import { proxyRequireRefusal } from "../../../sbc/proxy/proxy_require.ts";
import { request } from "../../kit/phone_and_pbx.ts";
import { parse } from "../../kit/sip_text.ts";

Deno.test("proxyRequireRefusal() lets a request without Proxy-Require be routed", () => {
  assert.equal(proxyRequireRefusal(parse(request("INVITE"))), undefined);
  // Require is for the UAS (RFC 3261 §20.32), not for a proxy.
  assert.equal(
    proxyRequireRefusal(parse(request("INVITE", { extra: ["Require: 100rel"] }))),
    undefined,
  );
});

Deno.test("proxyRequireRefusal() answers 420 with every option tag in Unsupported", async (t) => {
  await t.step("one tag", () => {
    const refusal = proxyRequireRefusal(
      parse(request("OPTIONS", { extra: ["Proxy-Require: foo"] })),
    );
    assert.deepEqual(refusal, {
      status: 420,
      reason: "Bad Extension",
      headers: [["Unsupported", "foo"]],
    });
  });
  await t.step("tags from several lines and comma lists, each once (RFC 4475 §3.3.5)", () => {
    const extra = [
      "Proxy-Require: noProxiesSupportThis, nothingSupportsThisEither",
      "Proxy-Require: noProxiesSupportThis",
    ];
    const refusal = proxyRequireRefusal(parse(request("INVITE", { extra })));
    assert.deepEqual(refusal?.headers, [
      ["Unsupported", "noProxiesSupportThis, nothingSupportsThisEither"],
    ]);
  });
  await t.step("in dialog too", () => {
    const msg = parse(request("BYE", { toTag: "b1", extra: ["Proxy-Require: foo"] }));
    assert.equal(proxyRequireRefusal(msg)?.status, 420);
  });
});

Deno.test("proxyRequireRefusal() never refuses an ACK or a CANCEL (RFC 3261 §8.2.2.3)", () => {
  for (const method of ["ACK", "CANCEL"]) {
    const msg = parse(request(method, { extra: ["Proxy-Require: foo"] }));
    assert.equal(proxyRequireRefusal(msg), undefined, method);
  }
});

Deno.test("proxyRequireRefusal() ignores an empty Proxy-Require", () => {
  assert.equal(
    proxyRequireRefusal(parse(request("INVITE", { extra: ["Proxy-Require:"] }))),
    undefined,
  );
});

Deno.test("proxyRequireRefusal() answers 400 to an option tag that is not a token", () => {
  const msg = parse(request("INVITE", { extra: ["Proxy-Require: foo, <sip:x>"] }));
  const refusal = proxyRequireRefusal(msg);
  assert.equal(refusal?.status, 400);
  assert.match(refusal?.reason ?? "", /^Cannot parse Proxy-Require header: /);
  assert.deepEqual(refusal?.headers, []);
});
