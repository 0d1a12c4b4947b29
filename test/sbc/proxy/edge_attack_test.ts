// Attacks from the external side on the promises of docs/security.md, through the proxy core.
// Each test asserts the safe behaviour: it fails while the hole it names is open.
import assert from "node:assert/strict";
import type { Config } from "../../../config/config.ts";
import { defaultConfig } from "../../../config/default.ts";
import { parseCidr } from "../../../config/cidr.ts";
import { getHeader, getHeaderValues } from "../../../sbc/message/message.ts";
import { buildResponse } from "../../../sbc/message/response.ts";
import { type CoreEnv, coreEnv, type Sent } from "../../kit/core_env.ts";
import { answer, PBX, PHONE } from "../../kit/phone_and_pbx.ts";
import { sip } from "../../kit/sip_text.ts";
import type { Peer } from "../../../sbc/transport/peer.ts";

const ATTACKER: Peer = { host: "198.51.100.66", port: 5070 };
const EXT_RR = "<sip:127.0.1.1:5060;lr>";

/** The default config with the inside's networks listed, as docs/configuration.md asks. */
function withInside(...networks: string[]): Config {
  const base = defaultConfig();
  const cidrs = networks.map((n) => {
    const parsed = parseCidr(n);
    if (!parsed.ok) throw new Error(parsed.error);
    return parsed.value;
  });
  return { ...base, internal: { ...base.internal, networks: cidrs } };
}

/**
 * The IPv4 address the OS sends to for `host` (getaddrinfo/inet_aton rules: octal and hex parts,
 * fewer than four parts, IPv4-mapped IPv6), or undefined when it is not such a form.
 */
function osIpv4(host: string): string | undefined {
  const bare = host.replace(/^\[|\]$/g, "");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped) return mapped[1];
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(bare);
  if (hex) {
    const hi = parseInt(hex[1]!, 16);
    const lo = parseInt(hex[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  const parts = bare.split(".");
  if (parts.length < 1 || parts.length > 4) return undefined;
  const values: number[] = [];
  for (const p of parts) {
    let v: number;
    if (/^0x[0-9a-f]+$/i.test(p)) v = parseInt(p.slice(2), 16);
    else if (/^0[0-7]*$/.test(p)) v = parseInt(p, 8);
    else if (/^[1-9]\d*$/.test(p)) v = parseInt(p, 10);
    else return undefined;
    values.push(v);
  }
  const last = values.pop()!;
  let n = 0;
  values.forEach((v, i) => (n += v * 2 ** (24 - 8 * i)));
  n += last;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** Nothing left by the external interface towards an address the OS reads as `inside`. */
function assertNothingOutTo(sent: readonly Sent[], inside: RegExp): void {
  for (const s of sent) {
    if (s.target.side !== "external") continue;
    const real = osIpv4(s.target.dest.host) ?? s.target.dest.host;
    assert.doesNotMatch(
      real,
      inside,
      `sent by the external interface to ${s.target.dest.host} (= ${real}):\n${s.text}`,
    );
  }
}

/** Nothing left by the internal interface for anyone but the PBX. */
function assertOnlyPbxInside(sent: readonly Sent[]): void {
  for (const s of sent) {
    if (s.target.side !== "internal") continue;
    assert.deepEqual(s.target.dest, PBX, `sent inside to ${s.target.dest.host}:\n${s.text}`);
  }
}

/** An initial INVITE from outside, with the Contact (and extra lines) the outsider chooses. */
function inviteFrom(
  who: Peer,
  callId: string,
  contact: string,
  extra: string[] = [],
  branch = `z9hG4bK${callId}`,
): string {
  return sip([
    "INVITE sip:100@127.0.1.1 SIP/2.0",
    `Via: SIP/2.0/UDP ${who.host}:${who.port};branch=${branch};rport`,
    "Max-Forwards: 70",
    `From: <sip:caller@${who.host}>;tag=f-${callId}`,
    "To: <sip:100@127.0.1.1>",
    `Call-ID: ${callId}`,
    "CSeq: 1 INVITE",
    `Contact: ${contact}`,
    ...extra,
  ]);
}

/** The PBX's BYE in a dialog the outsider started, sent as a UAS sends it (RFC 3261 §12.2.1.1). */
function pbxBye(invite: Sent, ok: Sent): string {
  const inv = invite.msg;
  const contact = getHeader(inv, "contact")!;
  const target = /<([^>]*)>/.exec(contact)![1]!;
  return sip([
    `BYE ${target} SIP/2.0`,
    "Via: SIP/2.0/UDP 127.0.2.10:5060;branch=z9hG4bKpbxbye",
    `Route: ${getHeaderValues(inv, "record-route").join(", ")}`,
    "Max-Forwards: 70",
    `From: ${getHeader(ok.msg, "to")}`,
    `To: ${getHeader(inv, "from")}`,
    `Call-ID: ${inv.callId}`,
    "CSeq: 1 BYE",
  ]);
}

/** The outsider calls the PBX with `contact`, the PBX answers 200, then hangs up. */
async function pbxHangsUpOn(env: CoreEnv, contact: string, extra: string[] = []): Promise<Sent[]> {
  await env.receive("external", ATTACKER, inviteFrom(ATTACKER, "evil-call", contact, extra));
  const invite = env.take().find((s) => s.target.side === "internal")!;
  assert.ok(invite, "the INVITE reached the PBX");
  await env.receive("internal", PBX, answer(invite.msg, 200, "OK"));
  const ok = env.take().find((s) => s.target.side === "external")!;
  await env.receive("internal", PBX, pbxBye(invite, ok));
  return env.take();
}

// ---------------------------------------------------------------- boundary guard bypasses

Deno.test("refused attack: an IPv4-mapped IPv6 Contact over TCP takes the PBX's BYE to an inside host by the external interface", async () => {
  const env = coreEnv({ config: withInside("127.0.2.0/24") });
  const out = await pbxHangsUpOn(env, "<sip:x@[::ffff:127.0.2.99]:5070;transport=tcp>");
  assertNothingOutTo(out, /^127\.0\.2\./);
  env.core.close();
});

Deno.test("refused attack: an IPv4-mapped IPv6 Record-Route in a phone's INVITE steers the PBX's BYE inside by the external interface", async () => {
  const env = coreEnv({ config: withInside("127.0.2.0/24") });
  const out = await pbxHangsUpOn(env, "<sip:x@198.51.100.66:5070>", [
    "Record-Route: <sip:[::ffff:7f00:263]:5070;transport=tcp;lr>",
  ]);
  assertNothingOutTo(out, /^127\.0\.2\./);
  env.core.close();
});

Deno.test("refused attack: an octal IPv4 Contact (012.0.0.5 = 10.0.0.5) passes the guard that reads it as 12.0.0.5", async () => {
  const env = coreEnv({ config: withInside("10.0.0.0/8") });
  const out = await pbxHangsUpOn(env, "<sip:x@012.0.0.5:5060>");
  assertNothingOutTo(out, /^10\./);
  env.core.close();
});

Deno.test("refused attack: an octal IPv4 Contact (127.0.2.012) sends the PBX's BYE to the PBX itself by the external interface", async () => {
  const env = coreEnv(); // the default config: the PBX owns 127.0.2.10
  const out = await pbxHangsUpOn(env, "<sip:x@127.0.2.012:5060>");
  assertNothingOutTo(out, /^127\.0\.2\.(1|10)$/);
  env.core.close();
});

// ---------------------------------------------------------------- forged answers

/** Reads the branch the SBC used on a request it sent outside: prefix+salt, and its counter. */
function branchParts(branch: string): { head: string; n: number } {
  const m = /^(z9hG4bKes.{6})([0-9a-z]+)$/.exec(branch);
  assert.ok(m, `branch of our shape: ${branch}`);
  return { head: m[1]!, n: parseInt(m[2]!, 36) };
}

/** The PBX calls the attacker, who learns the SBC's branch salt and counter, and refuses. */
async function learnBranch(env: CoreEnv): Promise<{ head: string; n: number }> {
  await env.receive(
    "internal",
    PBX,
    sip([
      "INVITE sip:evil@198.51.100.66:5070 SIP/2.0",
      "Via: SIP/2.0/UDP 127.0.2.10:5060;branch=z9hG4bKpbxprobe",
      "Max-Forwards: 70",
      "From: <sip:100@127.0.2.10>;tag=pbxprobe",
      "To: <sip:evil@198.51.100.66>",
      "Call-ID: probe@127.0.2.10",
      "CSeq: 1 INVITE",
      "Contact: <sip:100@127.0.2.10:5060>",
    ]),
  );
  const seen = env.take().find((s) => s.target.side === "external" && s.msg.method === "INVITE");
  assert.ok(seen, "the INVITE reached the attacker");
  await env.receive(
    "external",
    ATTACKER,
    buildResponse(seen.msg, 486, "Busy Here", { toTag: "x" }),
  );
  env.take();
  return branchParts(seen.msg.vias[0]!.branch!);
}

/** A 200 an outsider forges for an INVITE the SBC sent to the PBX, on the external side. */
function forged200(branch: string, invite: string, contact: string, status = 200): string {
  const callId = /Call-ID: (.*)/.exec(invite)![1]!;
  const from = /From: (.*)/.exec(invite)![1]!;
  const via = /Via: (.*)/.exec(invite)![1]!;
  return sip([
    `SIP/2.0 ${status} Forged`,
    `Via: SIP/2.0/UDP 127.0.2.1:5060;branch=${branch}`,
    `Via: ${via}`,
    `From: ${from}`,
    "To: <sip:100@127.0.1.1>;tag=forged",
    `Call-ID: ${callId}`,
    "CSeq: 1 INVITE",
    `Contact: ${contact}`,
  ]);
}

Deno.test("refused attack: a 200 forged on the external side for the INVITE the SBC sent the PBX makes the dialog lead to a victim inside", async () => {
  const env = coreEnv({ config: withInside("127.0.2.0/24") });
  const { head, n } = await learnBranch(env);
  // The attacker's own call: the SBC sends it to the PBX with the next branch.
  const invite = inviteFrom(ATTACKER, "evil2", "<sip:evil@198.51.100.66:5070>");
  await env.receive("external", ATTACKER, invite);
  const toPbx = env.take().find((s) => s.target.side === "internal")!;
  const branch = toPbx.msg.vias[0]!.branch!;
  assert.notEqual(branch, `${head}${(n + 1).toString(36)}`, "the branch was predictable");
  // Worse than a guess: the attacker knows the branch, and answers from outside.
  // The PBX has not answered; the attacker answers for it, from outside.
  await env.receive(
    "external",
    ATTACKER,
    forged200(branch, invite, "<sip:victim@127.0.2.99:5060>"),
  );
  const relayed = env.take();
  // The attacker's in-dialog request then goes where the forged Contact said.
  await env.receive(
    "external",
    ATTACKER,
    sip([
      "INFO sip:100@127.0.1.1 SIP/2.0",
      "Via: SIP/2.0/UDP 198.51.100.66:5070;branch=z9hG4bKevilinfo",
      `Route: ${EXT_RR}`,
      "Max-Forwards: 70",
      "From: <sip:caller@198.51.100.66>;tag=f-evil2",
      "To: <sip:100@127.0.1.1>;tag=forged",
      "Call-ID: evil2",
      "CSeq: 2 INFO",
    ]),
  );
  assertOnlyPbxInside(env.take());
  assert.deepEqual(
    relayed.map((s) => s.msg.status),
    [],
    "an answer from the external side for a transaction sent inside must be ignored",
  );
  env.core.close();
});

Deno.test("refused attack: an outsider answers 603 for another caller's INVITE to the PBX and ends that call", async () => {
  const env = coreEnv();
  const { head, n } = await learnBranch(env);
  const VICTIM_CALLER: Peer = { host: "192.0.2.77", port: 5060 };
  const invite = inviteFrom(VICTIM_CALLER, "victim-call", "<sip:v@192.0.2.77>");
  await env.receive("external", VICTIM_CALLER, invite);
  // The branch the counter would have given next; the real one, random, is not it.
  const sent = env.take().find((s) => s.target.side === "internal")!.msg.vias[0]!.branch!;
  assert.notEqual(sent, `${head}${(n + 1).toString(36)}`, "the branch was predictable");
  const forged = forged200(sent, invite, "<sip:x@198.51.100.66>", 603);
  await env.receive("external", ATTACKER, forged);
  const toVictim = env.take().filter((s) => s.msg.kind === "response" && s.msg.status >= 200);
  assert.deepEqual(
    toVictim.map((s) => `${s.msg.status} to ${s.target.dest.host}`),
    [],
    "someone else's call was refused by a forged answer",
  );
  env.core.close();
});

// ---------------------------------------------------------------- Path received=

Deno.test("refused attack: a REGISTER's own Path entry naming the SBC chooses where the PBX's INVITEs go", async () => {
  const env = coreEnv();
  await env.receive(
    "external",
    PHONE,
    sip([
      "REGISTER sip:127.0.1.1 SIP/2.0",
      "Via: SIP/2.0/UDP 192.0.2.50:5062;branch=z9hG4bKregevil;rport",
      "Max-Forwards: 70",
      "Path: <sip:127.0.2.1:5060;lr;received=sip:203.0.113.9:5060>",
      "From: <sip:alice@127.0.1.1>;tag=r1",
      "To: <sip:alice@127.0.1.1>",
      "Call-ID: regevil@192.0.2.50",
      "CSeq: 1 REGISTER",
      "Contact: <sip:alice@192.0.2.50:5062>",
      "Supported: path",
    ]),
  );
  const reg = env.take().find((s) => s.target.side === "internal")!;
  const path = getHeaderValues(reg.msg, "path");
  // The PBX calls alice over the Path it stored (RFC 3327 §5.3): every entry, as a Route set.
  await env.receive(
    "internal",
    PBX,
    sip([
      "INVITE sip:alice@192.0.2.50:5062 SIP/2.0",
      "Via: SIP/2.0/UDP 127.0.2.10:5060;branch=z9hG4bKpbxpath",
      `Route: ${path.join(", ")}`,
      "Max-Forwards: 70",
      "From: <sip:100@127.0.2.10>;tag=p1",
      "To: <sip:alice@127.0.1.1>",
      "Call-ID: pathevil@127.0.2.10",
      "CSeq: 1 INVITE",
      "Contact: <sip:100@127.0.2.10:5060>",
    ]),
  );
  const out = env.take().filter((s) => s.target.side === "external" && s.msg.method === "INVITE");
  assert.deepEqual(out.map((s) => s.target.dest), [PHONE], "to where alice registered from");
  env.core.close();
});

// ---------------------------------------------------------------- identity in answers

Deno.test("refused attack: identity headers in an outsider's 200 reach the PBX (RFC 3325 §5 applies to answers)", async () => {
  const env = coreEnv();
  await env.receive(
    "internal",
    PBX,
    sip([
      "INVITE sip:bob@192.0.2.50:5062 SIP/2.0",
      "Via: SIP/2.0/UDP 127.0.2.10:5060;branch=z9hG4bKpbxid",
      "Max-Forwards: 70",
      "From: <sip:100@127.0.2.10>;tag=pid",
      "To: <sip:bob@192.0.2.50>",
      "Call-ID: id@127.0.2.10",
      "CSeq: 1 INVITE",
      "Contact: <sip:100@127.0.2.10:5060>",
    ]),
  );
  const out = env.take().find((s) => s.target.side === "external" && s.msg.method === "INVITE")!;
  await env.receive(
    "external",
    PHONE,
    buildResponse(out.msg, 200, "OK", {
      toTag: "bob",
      headers: [
        ["Record-Route", EXT_RR],
        ["Contact", "<sip:bob@192.0.2.50:5062>"],
        ["P-Asserted-Identity", "<sip:911@emergency.example>"],
        ["Remote-Party-ID", "<sip:911@emergency.example>;party=called;screen=yes"],
        ["P-Preferred-Identity", "<sip:911@emergency.example>"],
      ],
    }),
  );
  const ok = env.take().find((s) => s.target.side === "internal")!;
  assert.equal(ok.msg.status, 200);
  for (const name of ["p-asserted-identity", "remote-party-id", "p-preferred-identity"]) {
    assert.equal(getHeader(ok.msg, name), undefined, `${name} reached the PBX`);
  }
  env.core.close();
});

// ---------------------------------------------------------------- dialog table growth

Deno.test("refused attack: one outgoing INVITE answered with many To tags fills the dialog table", async () => {
  const env = coreEnv();
  await env.receive(
    "internal",
    PBX,
    sip([
      "INVITE sip:bob@192.0.2.50:5062 SIP/2.0",
      "Via: SIP/2.0/UDP 127.0.2.10:5060;branch=z9hG4bKpbxfork",
      "Max-Forwards: 70",
      "From: <sip:100@127.0.2.10>;tag=pfork",
      "To: <sip:bob@192.0.2.50>",
      "Call-ID: fork@127.0.2.10",
      "CSeq: 1 INVITE",
      "Contact: <sip:100@127.0.2.10:5060>",
    ]),
  );
  const out = env.take().find((s) => s.target.side === "external" && s.msg.method === "INVITE")!;
  // 500 early dialogs, then 500 confirmed ones, each 2xx with a To tag of its own (bounded flood).
  let most = 0;
  for (let i = 0; i < 1000; i++) {
    const status = i < 500 ? 180 : 200;
    await env.receive(
      "external",
      PHONE,
      buildResponse(out.msg, status, "x", {
        toTag: `t${i}`,
        headers: [["Contact", "<sip:bob@192.0.2.50:5062>"]],
      }),
    );
    most = Math.max(most, env.core.dialogs);
  }
  env.take();
  assert.ok(most <= 16, `one INVITE left ${most} dialogs alive at once (12 h each when confirmed)`);
  env.core.close();
});
