import assert from "node:assert/strict";
import { KSR, KSR_ROWS } from "../../../sbc/script/ksr.ts";
import { PV_ROWS } from "../../../sbc/script/ksr_pv.ts";
import { KSR_ERROR } from "../../../sbc/script/ksr_row.ts";
import { KSR_EXIT } from "../../../sbc/script/ksr_run.ts";
import { buildResponse } from "../../../sbc/message/response.ts";
import { captureLogs } from "../../kit/log_capture.ts";
import { PBX, PHONE, request } from "../../kit/phone_and_pbx.ts";
import { context, fakeActions } from "../../kit/proxy_actions.ts";
import { parse } from "../../kit/sip_text.ts";
import { makeRun, within } from "./_script_env.ts";
import { REQUEST_STATE } from "../../../sbc/proxy/context.ts";

// deno-lint-ignore no-explicit-any
const K = KSR as any;

/** What KSR functions log: the script category. */
const SCRIPT_LOGS = { category: ["edgesbc", "script"] };

function setup(text = request("INVITE"), side: "external" | "internal" = "external") {
  const ctx = context(text, side);
  const { actions, calls } = fakeActions();
  const run = makeRun("request", ctx, actions, { functions: ["on_fail", "on_branch"] });
  return { ctx, actions, calls, run };
}

Deno.test("KSR has one function per row, under its module", () => {
  for (const row of KSR_ROWS) {
    const fn = row.module === "" ? K[row.name] : K[row.module]?.[row.name];
    assert.equal(typeof fn, "function", `${row.module}.${row.name}`);
    assert.ok(row.doc.length > 10 && row.kamailio.length > 0, row.name);
  }
  assert.ok(Object.isFrozen(KSR) && Object.isFrozen(K.tm));
});

Deno.test("KSR functions outside a route return -102 and log one line naming the function", () => {
  using logs = captureLogs(SCRIPT_LOGS);
  assert.equal(K.tm.t_relay(), KSR_ERROR.noRequest);
  assert.equal(K.pv.get("$ru"), null);
  assert.equal(K.is_method("INVITE"), false);
  const lines = logs.take();
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^KSR\.tm\.t_relay\(\) failed: no request is being routed/);
});

Deno.test("KSR logging functions work at load time and in routes", () => {
  using logs = captureLogs(SCRIPT_LOGS);
  const { run } = setup();
  K.info("loading {not a placeholder}");
  within(run, () => K.warn("in a route"));
  assert.deepEqual(
    logs.records.map((r) => `${r.category.join(".")} ${r.level}`),
    ["edgesbc.script info", "edgesbc.script warning"],
  );
  assert.deepEqual(logs.take(), ["loading {not a placeholder}", "in a route"]);
});

Deno.test("KSR functions with bad arguments return -100 and log, never throw", async (t) => {
  using logs = captureLogs(SCRIPT_LOGS);
  const { run } = setup();
  const cases: [string, () => unknown, unknown][] = [
    ["pv.sets number", () => K.pv.sets("$ru", 5), KSR_ERROR.badArgument],
    ["pv.seti string", () => K.pv.seti("$var(a)", "x"), KSR_ERROR.badArgument],
    ["sl.send_reply missing reason", () => K.sl.send_reply(404), KSR_ERROR.badArgument],
    ["sl.send_reply too many", () => K.sl.send_reply(404, "x", "y"), KSR_ERROR.badArgument],
    ["sl.send_reply bad code", () => K.sl.send_reply(99, "x"), KSR_ERROR.badArgument],
    ["sl.send_reply CRLF reason", () => K.sl.send_reply(403, "a\r\nX: y"), KSR_ERROR.badArgument],
    ["hdr.append injection", () => K.hdr.append("X-A: 1\r\n\r\nBODY"), KSR_ERROR.badArgument],
    ["hdr.append no colon", () => K.hdr.append("X-A"), KSR_ERROR.badArgument],
    ["hdr.remove bad name", () => K.hdr.remove("X A"), KSR_ERROR.badArgument],
    ["hdr.is_present bad name", () => K.hdr.is_present(""), false],
    ["textops bad regexp", () => K.textops.remove_hf_re("(("), KSR_ERROR.badArgument],
    ["t_check_status bad regexp", () => K.tm.t_check_status("(("), false],
    ["maxfwd out of range", () => K.maxfwd.process_maxfwd(256), KSR_ERROR.badArgument],
    ["is_method object", () => K.is_method({}), false],
    ["pv.get unknown", () => K.pv.get("$nope"), null],
    ["t_relay_to_proto_addr sctp", () => K.tm.t_relay_to_proto_addr("sctp", "h", 5060), -100],
  ];
  for (const [name, call, expected] of cases) {
    await t.step(name, () => {
      assert.equal(within(run, call), expected);
      const lines = logs.take();
      assert.equal(lines.length, 1, lines.join("\n"));
      assert.match(lines[0]!, /^KSR\.[a-z_.]+\(\) failed: /);
    });
  }
  within(run, () => {
    assert.equal(K.pv.sets("$ru", 5), KSR_ERROR.badArgument);
  });
  assert.match(logs.take()[0]!, /KSR\.pv\.sets\(\) failed: argument 2 must be a string, got 5/);
  assert.equal(run.ctx.edits.length, 0);
});

Deno.test("KSR functions outside their route kinds return -101", () => {
  using logs = captureLogs(SCRIPT_LOGS);
  const { ctx, actions } = setup();
  const reply = parse(buildResponse(ctx.msg, 200, "OK", { toTag: "p1" }));
  const run = makeRun("reply", ctx, actions, { reply, replyEdits: [] });
  within(run, () => {
    assert.equal(K.tm.t_relay(), KSR_ERROR.wrongRoute);
    assert.equal(K.sl.send_reply(200, "OK"), KSR_ERROR.wrongRoute);
    assert.equal(K.x.drop(), undefined);
  });
  assert.match(logs.take()[0]!, /KSR\.tm\.t_relay\(\) failed: not available in reply routes/);
});

Deno.test("KSR.pv.get() reads every listed variable from a request", () => {
  using logs = captureLogs(SCRIPT_LOGS);
  const text = request("INVITE", { extra: ["X-Test: one", "X-Test: two"] });
  const { run, ctx } = setup(text);
  ctx.vars.set("$var(n)", 7);
  const want: Record<string, unknown> = {
    "$rm": "INVITE",
    "$ru": "sip:100@127.0.1.1",
    "$rU": "100",
    "$rd": "127.0.1.1",
    "$rp": 5060,
    "$du": null,
    "$si": "192.0.2.50",
    "$sp": 5062,
    "$Ri": "127.0.1.1",
    "$Rp": 5060,
    "$proto": "udp",
    "$ci": "call1@192.0.2.50",
    "$cs": 1,
    "$fu": "sip:alice@example.com",
    "$fU": "alice",
    "$fd": "example.com",
    "$ft": "a1",
    "$tu": "sip:100@127.0.1.1",
    "$tU": "100",
    "$td": "127.0.1.1",
    "$tt": null,
    "$rs": null,
    "$rr": null,
    "$T_reply_code": null,
    "$ua": "phone/1.0",
    "$ml": ctx.msg.raw.length,
    "$mb": ctx.msg.raw,
    "$rb": "",
    "$hdr(name)": null,
    "$var(name)": null,
  };
  assert.deepEqual(Object.keys(want).sort(), PV_ROWS.map((pv) => pv.name).sort());
  within(run, () => {
    for (const [name, value] of Object.entries(want)) assert.equal(K.pv.get(name), value, name);
    assert.equal(K.pv.get("$hdr(x-test)"), "one");
    assert.equal(K.pv.get("$hdr(f)"), '"Alice" <sip:alice@example.com>;tag=a1');
    assert.equal(K.pv.get("$var(n)"), 7);
    assert.equal(K.pv.is_null("$tt"), true);
    assert.equal(K.pv.is_null("$rU"), false);
  });
  assert.deepEqual(logs.take(), []);
});

Deno.test("KSR.pv.sets() rewrites the Request-URI as a set-uri edit", () => {
  using logs = captureLogs(SCRIPT_LOGS);
  const { run, ctx } = setup();
  within(run, () => {
    assert.equal(K.pv.sets("$rU", "200"), 1);
    assert.equal(K.pv.sets("$rd", "PBX.example.com"), 1);
    assert.equal(K.pv.seti("$rp", 5080), 1);
    assert.equal(K.pv.get("$ru"), "sip:200@pbx.example.com:5080");
    assert.equal(K.pv.sets("$rp", ""), 1);
    assert.equal(K.pv.sets("$rU", ""), 1);
    assert.equal(K.pv.get("$ru"), "sip:pbx.example.com");
    assert.equal(K.pv.sets("$ru", "sip:300@10.0.0.1;transport=tcp"), 1);
    assert.equal(K.pv.get("$rU"), "300");
  });
  assert.deepEqual(ctx.edits.at(-1), { op: "set-uri", uri: "sip:300@10.0.0.1;transport=tcp" });
  assert.deepEqual(logs.take(), []);
});

Deno.test("KSR.pv.sets() refuses with a distinct code per cause", () => {
  using logs = captureLogs(SCRIPT_LOGS);
  const { run, ctx, actions } = setup();
  within(run, () => {
    assert.equal(K.pv.sets("$nope", "x"), -1);
    assert.equal(K.pv.sets("$si", "10.0.0.1"), -2);
    assert.equal(K.pv.sets("$ru", "not a uri"), -3);
    assert.equal(K.pv.sets("$du", "tel:+123"), -3);
    assert.equal(K.pv.sets("$rU", "a@b"), -3);
    assert.equal(K.pv.seti("$rp", 70000), -3);
    assert.equal(K.pv.unset("$ru"), -2);
  });
  assert.equal(logs.take().length, 7);
  const reply = parse(buildResponse(ctx.msg, 180, "Ringing", { toTag: "p1" }));
  within(makeRun("reply", ctx, actions, { reply, replyEdits: [] }), () => {
    assert.equal(K.pv.sets("$du", "sip:10.0.0.1"), -4);
    assert.equal(K.pv.sets("$var(seen)", "180"), 1);
  });
  assert.equal(ctx.vars.get("$var(seen)"), "180");
});

Deno.test("KSR.pv $du and $var() are set, read and unset per request", () => {
  const { run, ctx } = setup();
  within(run, () => {
    assert.equal(K.pv.sets("$du", "sip:127.0.2.11:5060;transport=tcp"), 1);
    assert.equal(K.pv.get("$du"), "sip:127.0.2.11:5060;transport=tcp");
    assert.equal(K.pv.seti("$var(tries)", 2), 1);
    assert.equal(K.pv.sets("$var(who)", "alice"), 1);
    assert.equal(K.pv.unset("$du"), 1);
    assert.equal(K.pv.unset("$var(who)"), 1);
    assert.equal(K.pv.is_null("$du"), true);
    assert.equal(K.pv.get("$var(who)"), null);
  });
  assert.equal(ctx.vars.get("$var(tries)"), 2);
});

Deno.test("KSR.hdr functions edit the request, reads see it as received", () => {
  const { run, ctx } = setup(request("INVITE", { extra: ["X-Internal-Id: 9", "x-internal-b: 1"] }));
  within(run, () => {
    assert.equal(K.hdr.is_present("User-Agent"), true);
    assert.equal(K.hdr.is_present("f"), true);
    assert.equal(K.hdr.get("user-agent"), "phone/1.0");
    assert.equal(K.hdr.get("X-Missing"), null);
    assert.equal(K.hdr.append("X-A: 1\r\n"), 1);
    assert.equal(K.hdr.append("X-B: 2\r\nX-C: 3"), 1);
    assert.equal(K.hdr.remove("User-Agent"), 1);
    assert.equal(K.hdr.remove("X-Missing"), -1);
    assert.equal(K.textops.remove_hf_re("^X-Internal-"), 1);
    assert.equal(K.textops.remove_hf_re("^X-Nothing"), -1);
    assert.equal(K.hdr.is_present("User-Agent"), true, "reads ignore the script's own edits");
  });
  assert.deepEqual(ctx.edits, [
    { op: "append", name: "X-A", value: "1" },
    { op: "append", name: "X-B", value: "2" },
    { op: "append", name: "X-C", value: "3" },
    { op: "remove-all", name: "User-Agent" },
    { op: "remove-all", name: "x-internal-id" },
    { op: "remove-all", name: "x-internal-b" },
  ]);
});

Deno.test("KSR.hdr functions in a reply route act on the answer", () => {
  const { ctx, actions } = setup();
  const reply = parse(
    buildResponse(ctx.msg, 200, "OK", { toTag: "p1", headers: [["X-Internal-Trace", "1"]] }),
  );
  const edits = [{ op: "remove-first-value" as const, name: "via" }];
  within(makeRun("reply", ctx, actions, { reply, replyEdits: edits }), () => {
    assert.equal(K.hdr.get("X-Internal-Trace"), "1");
    assert.equal(K.textops.remove_hf_re("^x-internal-"), 1);
    assert.equal(K.hdr.append("X-Seen: yes"), 1);
    assert.equal(K.pv.get("$rs"), 200);
    assert.equal(K.pv.get("$rr"), "OK");
    assert.equal(K.pv.get("$T_reply_code"), 200);
    assert.equal(K.is_method("INVITE"), true);
  });
  assert.equal(edits.length, 3);
  assert.equal(ctx.edits.length, 0);
});

Deno.test("KSR.sl.send_reply() answers through the actions with append_to_reply headers", () => {
  using logs = captureLogs(SCRIPT_LOGS);
  const { run, calls, ctx } = setup();
  within(run, () => {
    assert.equal(K.hdr.append_to_reply("Retry-After: 30"), 1);
    assert.equal(K.sl.send_reply(180, "Ringing"), 1);
    assert.equal(ctx.state, REQUEST_STATE.provisional, "a 1xx leaves the request open");
    assert.equal(K.sl.send_reply(503, "Busy Here"), 1);
    assert.equal(K.sl.send_reply(500, "Again"), KSR_ERROR.finished);
    assert.equal(K.tm.t_relay(), KSR_ERROR.finished);
  });
  assert.deepEqual(calls.replies.map((r) => [r.status, r.reason, r.headers]), [
    [180, "Ringing", [["Retry-After", "30"]]],
    [503, "Busy Here", [["Retry-After", "30"]]],
  ]);
  assert.equal(logs.take().length, 2);
});

Deno.test("KSR.sl.send_reply() does not answer an ACK", () => {
  const { run, calls } = setup(request("ACK", { toTag: "p1" }));
  within(run, () => assert.equal(K.sl.send_reply(404, "Not Here"), -1));
  assert.equal(calls.replies.length, 0);
});

Deno.test("KSR.sl.sl_reply_error() sends the last recorded error, else 500", async (t) => {
  await t.step("after process_maxfwd at zero: 483", () => {
    const { run, calls } = setup(request("INVITE", { mf: 0 }));
    within(run, () => {
      assert.equal(K.maxfwd.process_maxfwd(70), -1);
      assert.equal(K.sl.sl_reply_error(), 1);
    });
    assert.deepEqual(calls.replies.map((r) => r.status), [483]);
  });
  await t.step("after t_relay to a tel: URI: 416", () => {
    const { run, calls } = setup(request("INVITE", { uri: "tel:+15551234" }));
    within(run, () => {
      assert.equal(K.tm.t_relay(), -1);
      assert.equal(K.sl.sl_reply_error(), 1);
    });
    assert.deepEqual(calls.replies.map((r) => [r.status, r.reason]), [[
      416,
      "Unsupported URI Scheme",
    ]]);
  });
  await t.step("without an error: 500", () => {
    const { run, calls } = setup();
    within(run, () => K.sl.sl_reply_error());
    assert.deepEqual(calls.replies.map((r) => r.status), [500]);
  });
});

Deno.test("KSR.maxfwd.process_maxfwd() decrements, adds or refuses", () => {
  const dec = setup(request("INVITE", { mf: 10 }));
  within(dec.run, () => assert.equal(K.maxfwd.process_maxfwd(70), 1));
  assert.equal(dec.ctx.edits[0]?.op, "replace");
  assert.equal((dec.ctx.edits[0] as { value: string }).value, "9");
  const add = setup(request("INVITE", { mf: -1 }));
  within(add.run, () => assert.equal(K.maxfwd.process_maxfwd(16), 2));
  assert.deepEqual(add.ctx.edits, [{ op: "append", name: "Max-Forwards", value: "16" }]);
});

Deno.test("KSR.tm.t_relay() picks $du, then loose_route's next hop, then the Request-URI", async (t) => {
  await t.step("Request-URI, out of the other side", () => {
    const { run, ctx } = setup(request("INVITE", { uri: "sip:bob@203.0.113.9" }), "internal");
    within(run, () => assert.equal(K.tm.t_relay(), 1));
    assert.deepEqual(ctx.target, { out: "external", uri: "sip:bob@203.0.113.9" });
    assert.equal(run.relay, true);
  });
  await t.step("$du wins, the Request-URI stays", () => {
    const { run, ctx } = setup();
    within(run, () => {
      K.pv.sets("$du", "sip:127.0.2.10:5060");
      assert.equal(K.tm.t_relay(), 1);
      assert.equal(K.hdr.append("X-Late: 1"), KSR_ERROR.finished);
      assert.equal(K.pv.sets("$du", "sip:127.0.2.11"), -4);
    });
    assert.deepEqual(ctx.target, { out: "internal", uri: "sip:127.0.2.10:5060" });
    assert.equal(ctx.edits.length, 0);
  });
  await t.step("t_relay_to_proto_addr sets $du", () => {
    const { run, ctx } = setup();
    within(run, () => assert.equal(K.tm.t_relay_to_proto_addr("TCP", "127.0.2.11", 5070), 1));
    assert.deepEqual(ctx.target, { out: "internal", uri: "sip:127.0.2.11:5070;transport=tcp" });
  });
  await t.step("loose_route's next hop", () => {
    const text = request("BYE", {
      toTag: "p1",
      uri: "sip:alice@192.0.2.50:5062",
      extra: ["Route: <sip:127.0.1.1:5060;lr>, <sip:127.0.2.1:5060;lr>, <sip:proxy.example;lr>"],
    });
    const { run, ctx } = setup(text);
    within(run, () => {
      assert.equal(K.rr.loose_route(), 1);
      assert.equal(K.tm.t_relay(), 1);
    });
    assert.deepEqual(ctx.target, { out: "internal", uri: "sip:proxy.example;lr" });
    assert.deepEqual(ctx.edits, [
      { op: "remove-all", name: "route" },
      { op: "prepend", name: "Route", value: "<sip:proxy.example;lr>" },
    ]);
  });
});

Deno.test("KSR.rr.loose_route() returns -1 when no Route names the SBC", () => {
  const text = request("BYE", { toTag: "p1", extra: ["Route: <sip:elsewhere.example;lr>"] });
  const { run, ctx } = setup(text);
  within(run, () => assert.equal(K.rr.loose_route(), -1));
  assert.equal(ctx.edits.length, 0);
  assert.equal(ctx.target, undefined);
});

Deno.test("KSR.rr.loose_route() honours a Path entry's received address", () => {
  const text = request("INVITE", {
    uri: "sip:alice@10.9.9.9:5062",
    extra: ["Route: <sip:127.0.1.1:5060;lr;received=sip:192.0.2.50:5062>"],
  });
  const { run, ctx } = setup(text, "internal");
  within(run, () => assert.equal(K.rr.loose_route(), 1));
  assert.deepEqual(ctx.target?.peer, PHONE);
});

Deno.test("KSR.rr.record_route() and KSR.path.add_path() set the context flags", () => {
  const invite = setup();
  within(invite.run, () => {
    assert.equal(K.rr.record_route(), 1);
    assert.equal(K.path.add_path(), -1);
  });
  assert.equal(invite.ctx.recordRoute, true);
  assert.equal(invite.ctx.path, false);
  const register = setup(request("REGISTER", { uri: "sip:127.0.1.1" }));
  within(register.run, () => assert.equal(K.path.add_path(), 1));
  assert.equal(register.ctx.path, true);
});

Deno.test("KSR.tm.t_on_*() arm callbacks the script defines", () => {
  using logs = captureLogs(SCRIPT_LOGS);
  const { run, ctx } = setup();
  within(run, () => {
    assert.equal(K.tm.t_on_failure("on_fail"), 1);
    assert.equal(K.tm.t_on_branch("on_branch"), 1);
    assert.equal(K.tm.t_on_reply("missing"), -1);
  });
  assert.deepEqual(ctx.callbacks, { failure: "on_fail", branch: "on_branch" });
  assert.match(logs.take()[0]!, /t_on_reply\(\) failed: the script defines no function "missing"/);
});

Deno.test("KSR.tm failure-route checks read the status being handled", () => {
  const { ctx, actions } = setup();
  const failed = parse(buildResponse(ctx.msg, 503, "Service Unavailable", { toTag: "p1" }));
  ctx.vars.set("$T_reply_code", 503);
  within(makeRun("failure", ctx, actions, { reply: failed }), () => {
    assert.equal(K.tm.t_check_status("5[0-9][0-9]"), true);
    assert.equal(K.tm.t_check_status("408|480"), false);
    assert.equal(K.tm.t_check_status("5"), false, "the whole code must match");
    assert.equal(K.tm.t_branch_timeout(), false);
    assert.equal(K.pv.get("$rs"), 503);
  });
  ctx.vars.set("$T_reply_code", 408);
  within(makeRun("failure", ctx, actions), () => {
    assert.equal(K.tm.t_check_status("408"), true);
    assert.equal(K.tm.t_branch_timeout(), true);
    assert.equal(K.pv.get("$T_reply_code"), 408);
    assert.equal(K.pv.get("$rs"), null);
    assert.equal(K.tm.t_is_canceled(), false);
  });
  (ctx.tx as { cancelled: boolean }).cancelled = true;
  within(makeRun("failure", ctx, actions), () => assert.equal(K.tm.t_is_canceled(), true));
  within(makeRun("request", ctx, actions), () => assert.equal(K.tm.t_check_status("5.."), false));
});

Deno.test("KSR.rtpproxy.rtpproxy_manage() uses the sides' flags or the script's", async (t) => {
  using logs = captureLogs(SCRIPT_LOGS);
  await t.step("no flags: the receiving side's, answers take the other side's", () => {
    const { run, ctx, calls } = setup();
    within(run, () => assert.equal(K.rtpproxy.rtpproxy_manage(), 1));
    assert.deepEqual(calls.media, [{ flags: "", from: "external", to: "internal" }]);
    assert.equal(ctx.replyMediaFlags, "");
  });
  await t.step("i/e stripped; matching direction logs nothing", () => {
    const { run, ctx, calls } = setup();
    within(run, () => assert.equal(K.rtpproxy.rtpproxy_manage("iewc"), 1));
    assert.deepEqual(calls.media.map((m) => m.flags), ["wc"]);
    assert.equal(ctx.replyMediaFlags, "wc");
    assert.deepEqual(logs.take(), []);
  });
  await t.step("a direction that disagrees is reported once", () => {
    const runs = [setup(request("INVITE"), "internal"), setup(request("INVITE"), "internal")];
    for (const { run, calls } of runs) {
      within(run, () => assert.equal(K.rtpproxy.rtpproxy_manage("IEwc"), 1));
      assert.deepEqual(calls.media, [{ flags: "wc", from: "internal", to: "external" }]);
    }
    const lines = logs.take();
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /direction "ie" but the message goes internal to external \("ei"\)/);
  });
  await t.step("a refusal records the relay's answer for sl_reply_error", () => {
    const ctx = context(request("INVITE"));
    const { actions, calls } = fakeActions({
      kind: "reject",
      status: 503,
      reason: "Media ports exhausted",
    });
    const run = makeRun("request", ctx, actions);
    within(run, () => {
      assert.equal(K.rtpproxy.rtpproxy_manage(), -1);
      K.sl.sl_reply_error();
    });
    assert.deepEqual(calls.replies.map((r) => [r.status, r.reason]), [[
      503,
      "Media ports exhausted",
    ]]);
  });
  await t.step("in a reply route it reports whether the request was managed", () => {
    const { ctx, actions } = setup();
    const reply = parse(buildResponse(ctx.msg, 200, "OK", { toTag: "p1" }));
    const replyRun = () => makeRun("reply", ctx, actions, { reply, replyEdits: [] });
    within(replyRun(), () => assert.equal(K.rtpproxy.rtpproxy_manage("wc"), -2));
    ctx.replyMediaFlags = "";
    within(replyRun(), () => assert.equal(K.rtpproxy.rtpproxy_manage("wc"), 1));
  });
});

Deno.test("KSR.is_method() and KSR.is_myself() check the method and our addresses", () => {
  const { run } = setup(request("BYE", { toTag: "p1" }));
  within(run, () => {
    assert.equal(K.is_method("INVITE|BYE"), true);
    assert.equal(K.is_method("bye"), true);
    assert.equal(K.is_method("INVITE"), false);
    assert.equal(K.is_myself("sip:127.0.1.1"), true);
    assert.equal(K.is_myself("sip:x@127.0.2.1:5060;transport=tcp"), true);
    assert.equal(K.is_myself("127.0.2.1:5060"), true);
    assert.equal(K.is_myself("sip:127.0.1.1:5070"), false);
    assert.equal(K.is_myself("sip:127.0.2.10"), false);
  });
});

Deno.test("KSR.sbc functions give the PBX URI and the receiving side", () => {
  const { run } = setup(request("INVITE"), "internal");
  within(run, () => {
    assert.equal(K.sbc.pbx(), `sip:${PBX.host}:${PBX.port}`);
    assert.equal(K.sbc.from_side(), "internal");
  });
});

Deno.test("KSR.x.exit() and KSR.x.drop() throw the exit marker; drop ends the request", () => {
  const { run, ctx } = setup();
  assert.throws(() => within(run, () => K.x.exit()), (err) => err === KSR_EXIT);
  assert.equal(ctx.state, REQUEST_STATE.pending);
  assert.throws(() => within(run, () => K.x.drop()), (err) => err === KSR_EXIT);
  assert.equal(run.dropped, true);
  assert.equal(ctx.state, REQUEST_STATE.dropped);
});
