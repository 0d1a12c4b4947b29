import assert from "node:assert/strict";
import { defaultConfig } from "../../../config/default.ts";
import type { RequestRoute, RouteHooks } from "../../../sbc/proxy/context.ts";
import { getHeader, getHeaderValues } from "../../../sbc/message/message.ts";
import {
  compileScript,
  loadScript,
  type RoutingScript,
  ScriptError,
} from "../../../sbc/script/script.ts";
import { coreEnv, type Sent, settle } from "../../kit/core_env.ts";
import type { Config } from "../../../config/config.ts";
import { ManualClock } from "../../kit/manual_clock.ts";
import { audioSdp, testRelay } from "../../kit/media_relay.ts";
import { captureLogs } from "../../kit/log_capture.ts";
import { answer, PBX, PHONE, request } from "../../kit/phone_and_pbx.ts";
import { context, fakeActions } from "../../kit/proxy_actions.ts";
import { sip } from "../../kit/sip_text.ts";

function compile(source: string, filename = "route.ts"): RoutingScript {
  const result = compileScript(source, filename);
  if (!result.ok) throw new Error(result.error);
  return result.script;
}

function compileError(source: string, filename = "route.ts"): string {
  const result = compileScript(source, filename);
  assert.equal(result.ok, false, "the script should be refused");
  return result.ok ? "" : result.error;
}

const EXAMPLES = new URL("../../../examples/", import.meta.url);

async function example(name: string): Promise<RoutingScript> {
  const result = await loadScript(new URL(name, EXAMPLES).pathname);
  if (!result.ok) throw new Error(result.error);
  return result.script;
}

/** Runs a script's request route on a fake context; returns the context and what was done. */
async function route(
  script: RoutingScript,
  text = request("INVITE"),
  side: "external" | "internal" = "external",
) {
  const ctx = context(text, side);
  const { actions, calls } = fakeActions();
  await script.route(ctx, actions);
  return { ctx, calls };
}

Deno.test("compileScript() finds exported and plain top-level functions", () => {
  const script = compile(`
    // A comment mentioning KSR.nothing.here is not code.
    const NOTE = "KSR.also.not.code";
    export function ksr_request_route(msg: unknown): void {
      KSR.tm.t_on_failure("failed");
      KSR.tm.t_relay();
    }
    function failed() {}
    const helper = (x: number): number => x + 1;
    export const ksr_reply_route = () => {};
  `);
  assert.deepEqual(
    [...script.functions].sort(),
    ["failed", "helper", "ksr_reply_route", "ksr_request_route"],
  );
});

Deno.test("compileScript() reports a syntax error as file:line:column", () => {
  const error = compileError("export function ksr_request_route() {\n  let x = ;\n}\n");
  assert.match(error, /^Cannot compile routing script "route\.ts:2:\d+": Unexpected token/);
});

Deno.test("compileScript() refuses unknown KSR names and t_on_* names, with their line", () => {
  const error = compileError([
    "function ksr_request_route() {",
    "  KSR.sl.sl_send_reply(404, 'Not Found');",
    "  KSR.tm.t_on_failure('nowhere');",
    "  KSR.nope();",
    "}",
  ].join("\n"));
  const lines = error.split("\n");
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /"route\.ts:2:3": KSR\.sl\.sl_send_reply is not a KSR function/);
  assert.match(lines[1]!, /"route\.ts:4:3": KSR\.nope is not a KSR function or module/);
  assert.match(lines[2]!, /"route\.ts:3:3": KSR\.tm\.t_on_failure\("nowhere"\) names a function/);
});

Deno.test("compileScript() reports top-level errors with their line", () => {
  const error = compileError("function ksr_request_route() {}\n\nconst x = (null as any).y;\n");
  assert.match(
    error,
    /^Cannot load routing script "route\.ts:3:\d+": Cannot read properties of null/,
  );
  const imports = compileError(
    'import { x } from "./lib.ts";\nexport function ksr_request_route() { x(); }\n',
  );
  assert.match(
    imports,
    /Cannot import "\.\/lib\.ts" in a routing script: scripts are self-contained/,
  );
});

Deno.test("compileScript() requires ksr_request_route", () => {
  assert.match(
    compileError("function ksr_reply_route() {}\n"),
    /^Cannot load routing script "route\.ts": ksr_request_route is not defined$/,
  );
});

Deno.test("loadScript() reads a file and names it in errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/route.ts`;
    await Deno.writeTextFile(path, "export function ksr_request_route() { KSR.tm.t_relay(); }\n");
    const ok = await loadScript(path);
    assert.ok(ok.ok);
    const missing = await loadScript(`${dir}/missing.ts`);
    assert.ok(!missing.ok);
    assert.match(missing.error, /^Cannot read routing script ".*missing\.ts": /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadScript() compiles every example", async () => {
  const names: string[] = [];
  for await (const entry of Deno.readDir(EXAMPLES)) {
    if (entry.name.endsWith(".ts")) names.push(entry.name);
  }
  assert.ok(names.length >= 4);
  for (const name of names) await example(name);
});

Deno.test("RoutingScript.route() rejects with the script position when the route throws", async () => {
  const script = compile([
    "export function ksr_request_route() {",
    "  KSR.rr.record_route();",
    "  (undefined as any).boom();",
    "}",
  ].join("\n"));
  const ctx = context(request("INVITE"));
  const { actions } = fakeActions();
  await assert.rejects(
    () => script.route(ctx, actions),
    (err) =>
      err instanceof ScriptError &&
      /^Routing script "route\.ts:3:\d+" failed in ksr_request_route: /.test(err.message),
  );
});

Deno.test("ProxyCore answers 500 and logs the script position when the route throws", async () => {
  const script = compile("export function ksr_request_route() {\n  throw new Error('no');\n}\n");
  const env = coreEnv(script);
  using logs = captureLogs();
  await env.receive("external", PHONE, request("OPTIONS"));
  const out = env.take();
  assert.deepEqual(out.map((s) => s.msg.status), [500]);
  assert.equal(env.core.counters.routeErrors, 1);
  assert.ok(
    logs.take().some((l) => l.includes('Routing script "route.ts:2:') && l.includes(": no")),
  );
  env.finish();
});

Deno.test("RoutingScript.route() ignores what route functions return", async () => {
  for (const value of ["42", "{ a: 1 }", '"text"', "Promise.resolve(-1)", "null"]) {
    const script = compile(
      `export function ksr_request_route() { KSR.tm.t_relay(); return ${value}; }`,
    );
    const { calls } = await route(script);
    assert.equal(calls.relays.length, 1, value);
  }
});

Deno.test("RoutingScript.route() leaves an undecided request to the core (500 No Route Decision)", async () => {
  const script = compile("export function ksr_request_route() { KSR.rr.record_route(); }");
  const env = coreEnv(script);
  await env.receive("external", PHONE, request("MESSAGE"));
  assert.deepEqual(env.take().map((s) => [s.msg.status, s.msg.reason]), [[
    500,
    "No Route Decision",
  ]]);
  env.finish();
});

Deno.test("RoutingScript.route() relays after the route returns, also after KSR.x.exit()", async () => {
  const script = compile([
    "export function ksr_request_route() {",
    '  KSR.pv.sets("$du", "sip:127.0.2.10:5060");',
    "  KSR.tm.t_relay();",
    "  KSR.x.exit();",
    '  KSR.sl.send_reply(500, "never");',
    "}",
  ].join("\n"));
  const { calls } = await route(script);
  assert.equal(calls.relays.length, 1);
  assert.deepEqual(calls.relays[0]!.target, { out: "internal", uri: "sip:127.0.2.10:5060" });
  assert.equal(calls.replies.length, 0);
});

Deno.test("RoutingScript.route() binds KSR to its request across awaits in async routes", async () => {
  const script = compile([
    "export async function ksr_request_route() {",
    '  const before = KSR.pv.get("$ci");',
    "  await new Promise((r) => setTimeout(r, before === 'first' ? 20 : 1));",
    '  KSR.pv.sets("$var(ci)", String(KSR.pv.get("$ci")));',
    "  KSR.tm.t_relay();",
    "}",
  ].join("\n"));
  const first = context(request("INVITE", { callId: "first" }));
  const second = context(request("INVITE", { callId: "second" }));
  const a = fakeActions();
  const b = fakeActions();
  await Promise.all([script.route(first, a.actions), script.route(second, b.actions)]);
  assert.equal(first.vars.get("$var(ci)"), "first");
  assert.equal(second.vars.get("$var(ci)"), "second");
  assert.equal(a.calls.relays.length + b.calls.relays.length, 2);
});

Deno.test("RoutingScript.route() reports KSR calls after an await in a non-async function", async () => {
  const script = compile([
    "export function ksr_request_route() {",
    "  return Promise.resolve().then(() => {",
    '    KSR.pv.seti("$var(code)", KSR.tm.t_relay());',
    "  });",
    "}",
  ].join("\n"));
  using logs = captureLogs();
  const { calls, ctx } = await route(script);
  assert.equal(calls.relays.length, 0);
  assert.equal(ctx.vars.get("$var(code)"), undefined);
  assert.ok(logs.take().some((l) => l.startsWith("KSR.tm.t_relay() failed: no request")));
});

Deno.test("KSR.x.drop() in a request route sends nothing, even for an ACK", async () => {
  const script = compile("export function ksr_request_route() { KSR.tm.t_relay(); KSR.x.drop(); }");
  const env = coreEnv(script);
  await env.receive("external", PHONE, request("ACK", { toTag: "p1" }));
  assert.deepEqual(env.take(), []);
  env.finish();
});

Deno.test("The branch route changes the relayed request or drops the relay", async () => {
  const script = compile([
    "export function ksr_request_route() {",
    '  KSR.tm.t_on_branch("branch");',
    "  KSR.tm.t_relay();",
    "}",
    "function branch() {",
    '  KSR.hdr.append("X-Branch: 1");',
    '  if (KSR.pv.get("$rU") === "drop") KSR.x.drop();',
    '  KSR.pv.sets("$du", "sip:127.0.2.12");',
    "}",
  ].join("\n"));
  const kept = await route(script);
  assert.equal(kept.calls.relays.length, 1);
  assert.deepEqual(kept.calls.relays[0]!.target, { out: "internal", uri: "sip:127.0.2.12" });
  assert.deepEqual(kept.calls.relays[0]!.edits, [{ op: "append", name: "X-Branch", value: "1" }]);
  const dropped = await route(script, request("INVITE", { uri: "sip:drop@127.0.1.1" }));
  assert.equal(dropped.calls.relays.length, 0);
});

Deno.test("ksr_onsend_route may inspect and drop, not change the request", async () => {
  const script = compile([
    "export function ksr_request_route() { KSR.tm.t_relay(); }",
    "export function ksr_onsend_route() {",
    '  KSR.pv.seti("$var(hdr)", KSR.hdr.append("X-Late: 1"));',
    '  if (KSR.pv.get("$rU") === "drop") KSR.x.drop();',
    "}",
  ].join("\n"));
  using logs = captureLogs();
  const kept = await route(script);
  assert.equal(kept.calls.relays.length, 1);
  assert.deepEqual(kept.calls.relays[0]!.edits, []);
  assert.ok(
    logs.take().some((l) => /hdr\.append\(\) failed: not available in onsend routes/.test(l)),
  );
  const dropped = await route(script, request("INVITE", { uri: "sip:drop@127.0.1.1" }));
  assert.equal(dropped.calls.relays.length, 0);
});

/** The default config with a pool: the PBX first (priority 1), 127.0.2.11 second. */
function poolConfig(): Config {
  const config = defaultConfig();
  const backup = { ...config.pbx.address, host: "127.0.2.11" };
  return {
    ...config,
    pbx: {
      ...config.pbx,
      targets: [
        { address: config.pbx.address, priority: 1, weight: 1 },
        { address: backup, priority: 2, weight: 1 },
      ],
    },
  };
}

/** Sends an INVITE from the phone through `script`; returns the env and what reached the PBX. */
async function callThrough(script: RoutingScript) {
  const env = coreEnv({ ...script, config: poolConfig() });
  await env.receive("external", PHONE, request("INVITE"));
  const out = env.take();
  assert.deepEqual(out.map((s) => s.msg.status), [100, 0]);
  return { env, invite: out[1]! };
}

Deno.test("examples/failover.ts tries the second PBX after a 5xx", async () => {
  const { env, invite } = await callThrough(await example("failover.ts"));
  assert.deepEqual(invite.target.dest, PBX);
  await env.receive("internal", PBX, answer(invite.msg, 503, "Service Unavailable"));
  const out = env.take();
  const retry = out.find((s) => s.msg.method === "INVITE" && s.msg.kind === "request");
  assert.ok(retry, "the INVITE was sent again");
  assert.deepEqual(retry.target.dest, { host: "127.0.2.11", port: 5060 });
  assert.ok(!out.some((s) => s.msg.status === 503), "the caller never sees the 503");
  await env.receive("internal", { host: "127.0.2.11", port: 5060 }, answer(retry.msg, 200, "OK"));
  const ok = env.take().find((s) => s.msg.status === 200);
  assert.deepEqual(ok?.target.dest, PHONE);
  env.finish();
});

Deno.test("examples/failover.ts tries the second PBX after a timeout, once", async () => {
  const { env, invite } = await callThrough(await example("failover.ts"));
  await env.receive("internal", PBX, answer(invite.msg, 100, "Trying"));
  // The script's t_set_fr(60000, 2000): 60 s to ring.
  env.clock.advance(60_000);
  await settle();
  const retry = env.take().find((s) => s.msg.kind === "request" && s.msg.method === "INVITE");
  assert.deepEqual(retry?.target.dest, { host: "127.0.2.11", port: 5060 });
  await env.receive(
    "internal",
    { host: "127.0.2.11", port: 5060 },
    answer(retry!.msg, 486, "Busy Here"),
  );
  const busy = env.take().filter((s) => s.msg.status === 486);
  assert.deepEqual(
    busy.map((s) => s.target.dest),
    [PHONE],
    "the second failure goes to the caller",
  );
  env.finish();
});

Deno.test("A reload leaves transactions under way with the script that routed them", async () => {
  const first = await example("failover.ts");
  const { env, invite } = await callThrough(first);
  const second = compile(
    "export function ksr_request_route() { KSR.sl.send_reply(503, 'Later'); }",
  );
  env.core.setRoute(second.route, second.hooks);
  await env.receive("internal", PBX, answer(invite.msg, 500, "Server Error"));
  const retry = env.take().find((s) => s.msg.kind === "request" && s.msg.method === "INVITE");
  assert.deepEqual(
    retry?.target.dest,
    { host: "127.0.2.11", port: 5060 },
    "failover.ts's route ran",
  );
  await env.receive("external", PHONE, request("OPTIONS", { callId: "new" }));
  assert.deepEqual(env.take().map((s) => s.msg.reason), ["Later"], "new requests use the new one");
  // The backup never answers: its 2 s run out, and the (async) failure route finds no third PBX.
  env.clock.advance(2_000);
  await settle();
  env.finish();
});

Deno.test("examples/headers.ts asserts identity going in and strips internal headers going out", async () => {
  const { env, invite } = await callThrough(await example("headers.ts"));
  assert.equal(getHeader(invite.msg, "P-Asserted-Identity"), "<sip:alice@example.com>");
  await env.receive(
    "internal",
    PBX,
    answer(invite.msg, 200, "OK", [["X-Internal-Trunk", "7"], ["Contact", "<sip:100@127.0.2.10>"]]),
  );
  const ok = env.take().find((s) => s.msg.status === 200)!;
  assert.equal(getHeader(ok.msg, "X-Internal-Trunk"), undefined);
  // The script leaves Contact alone; topology hiding (on outside by default) shows ours.
  assert.equal(getHeader(ok.msg, "Contact"), "<sip:100@127.0.1.1:5060>");
  env.finish();
});

Deno.test("examples/allow_list.ts refuses unlisted sources with 403", async () => {
  const script = await example("allow_list.ts");
  const env = coreEnv(script);
  await env.receive("external", PHONE, request("INVITE"));
  assert.deepEqual(env.take().map((s) => s.msg.status), [100, 403]);
  env.finish();
  const allowed = coreEnv(script);
  await allowed.receive("external", { host: "127.0.1.2", port: 5060 }, request("INVITE"));
  assert.deepEqual(allowed.take().map((s) => s.target.side), ["external", "internal"]);
  allowed.finish();
});

/** Message text without what differs run to run: branches and our To tags. */
function normalize(sent: readonly Sent[]): string[] {
  return sent.map((s) =>
    `${s.target.side} ${s.target.dest.host}:${s.target.dest.port}\n` +
    s.text.replace(/branch=z9hG4bKes[0-9a-z]+/g, "branch=X").replace(/tag=es[0-9a-z]+/g, "tag=X")
  );
}

Deno.test("examples/bridge.ts routes like the built-in pipeline", async (t) => {
  const script = await example("bridge.ts");
  const inDialogRoute = "Route: <sip:127.0.1.1:5060;lr>, <sip:127.0.2.1:5060;lr>";
  const cases: [string, "external" | "internal", string][] = [
    ["INVITE from outside", "external", request("INVITE")],
    [
      "INVITE from outside with a pre-loaded Route set",
      "external",
      request("INVITE", { extra: ["Route: <sip:127.0.1.1:5060;lr>, <sip:127.0.2.99;lr>"] }),
    ],
    ["OPTIONS ping to the SBC", "external", request("OPTIONS", { uri: "sip:127.0.1.1" })],
    ["OPTIONS to a user", "external", request("OPTIONS")],
    ["REGISTER from outside", "external", request("REGISTER", { uri: "sip:127.0.1.1" })],
    ["INVITE from the PBX", "internal", request("INVITE", { uri: "sip:bob@203.0.113.9:5070" })],
    ["INVITE from the PBX to the SBC", "internal", request("INVITE", { uri: "sip:127.0.2.1" })],
    [
      "BYE in dialog",
      "external",
      request("BYE", { toTag: "p1", uri: "sip:100@127.0.2.10", extra: [inDialogRoute] }),
    ],
    ["BYE in dialog without Route", "external", request("BYE", { toTag: "p1" })],
    ["ACK in dialog without Route", "external", request("ACK", { toTag: "p1" })],
    ["INVITE at Max-Forwards 0", "external", request("INVITE", { mf: 0 })],
    ["INVITE without Max-Forwards", "external", request("INVITE", { mf: -1 })],
    [
      "INFO from the PBX through a preloaded Route",
      "internal",
      sip([
        "INFO sip:bob@203.0.113.9 SIP/2.0",
        "Via: SIP/2.0/UDP 127.0.2.10:5060;branch=z9hG4bKpbx1",
        "Max-Forwards: 70",
        "Route: <sip:127.0.2.1:5060;lr>",
        "From: <sip:100@127.0.2.10>;tag=b1",
        "To: <sip:bob@203.0.113.9>",
        "Call-ID: pbx-call",
        "CSeq: 1 INFO",
      ]),
    ],
  ];
  for (const [name, side, text] of cases) {
    await t.step(name, async () => {
      const source = side === "external" ? PHONE : PBX;
      const builtIn = coreEnv();
      await builtIn.receive(side, source, text);
      const scripted = coreEnv(script);
      await scripted.receive(side, source, text);
      const want = normalize(builtIn.take());
      assert.ok(want.length > 0 || name.startsWith("ACK"), "the pipeline did something");
      assert.deepEqual(normalize(scripted.take()), want);
      builtIn.finish();
      scripted.finish();
    });
  }
});

Deno.test("examples/bridge.ts forwards answers like the built-in pipeline", async () => {
  const script = await example("bridge.ts");
  const run = async (env: ReturnType<typeof coreEnv>) => {
    await env.receive("external", PHONE, request("INVITE"));
    const invite = env.take()[1]!;
    await env.receive("internal", PBX, answer(invite.msg, 180, "Ringing"));
    await env.receive("internal", PBX, answer(invite.msg, 486, "Busy Here"));
    const out = normalize(env.take());
    env.finish();
    return out;
  };
  const want = await run(coreEnv());
  assert.equal(want.length, 3, "180, 486 and the ACK to the PBX");
  assert.deepEqual(await run(coreEnv(script)), want);
  assert.equal(getHeaderValues(context(request("INVITE")).msg, "via").length, 1);
});

Deno.test("examples/bridge.ts manages media like the built-in pipeline", async () => {
  const script = await example("bridge.ts");
  const phoneSdp = audioSdp("192.0.2.50", 4000);
  const pbxSdp = audioSdp("127.0.2.10", 5000);
  const run = async (routing: { route?: RequestRoute; hooks?: RouteHooks }) => {
    const config = defaultConfig();
    const clock = new ManualClock();
    using relay = testRelay(config, clock, [42200, 42239]);
    const env = coreEnv({ ...routing, config, clock, media: relay });
    await env.receive(
      "external",
      PHONE,
      request("INVITE", { extra: ["Content-Type: application/sdp"], body: phoneSdp }),
    );
    const invite = env.take()[1]!;
    assert.match(invite.msg.body, /^c=IN IP4 127\.0\.2\.1\r$/m, "SDP towards the PBX rewritten");
    await env.receive(
      "internal",
      PBX,
      answer(invite.msg, 200, "OK", [["Content-Type", "application/sdp"]], pbxSdp),
    );
    const out = normalize(env.take());
    assert.match(out[0] ?? "", /^c=IN IP4 127\.0\.1\.1\r$/m, "SDP towards the phone rewritten");
    assert.equal(relay.stats().sessions, 1);
    relay.close(); // its sweep timer runs on the same clock
    env.finish();
    return [normalize([invite])[0], ...out];
  };
  assert.deepEqual(await run(script), await run({}));
});
