import assert from "node:assert/strict";
import { defaultConfig } from "../../../config/default.ts";
import { buildResponse } from "../../../sbc/message/response.ts";
import { dialogOf, insideNextHop, withoutTag } from "../../../sbc/proxy/dialog.ts";
import { DialogTable } from "../../../sbc/proxy/dialog_table.ts";
import { localSides } from "../../../sbc/proxy/local_address.ts";
import { ManualClock } from "../../kit/manual_clock.ts";
import { parse, sip } from "../../kit/sip_text.ts";

const SIDES = localSides(defaultConfig());
const PEER = { host: "192.0.2.9", port: 5060, proto: "udp" } as const;
const OURS = "<sip:127.0.2.1:5060;lr>, <sip:127.0.1.1:5060;lr>";

function invite(recordRoute: string, contact: string): string {
  return sip([
    "INVITE sip:bob@192.0.2.9 SIP/2.0",
    "Via: SIP/2.0/UDP 127.0.2.10:5060;branch=z9hG4bKx",
    `Record-Route: ${recordRoute}`,
    "From: <sip:100@127.0.2.10>;tag=in1",
    "To: <sip:bob@192.0.2.9>",
    "Call-ID: c1@127.0.2.10",
    "CSeq: 1 INVITE",
    `Contact: <${contact}>`,
  ]);
}

Deno.test("dialogOf() records the PBX's Contact and Record-Routes from its INVITE (UAS route set)", () => {
  const request = parse(invite(`<sip:10.0.0.7;lr>, <sip:10.0.0.8;lr>`, "sip:100@127.0.2.10:5070"));
  const reply = parse(buildResponse(request, 200, "OK", { toTag: "out1" }));
  const dialog = dialogOf(request, "internal", reply, {
    sides: SIDES,
    outsideCallId: "c1@127.0.2.10",
    hidden: false,
    outsidePeer: PEER,
  });
  assert.ok(dialog);
  assert.equal(dialog.insideTag, "in1");
  assert.equal(dialog.outsideTag, "out1");
  assert.equal(dialog.insideTarget, "sip:100@127.0.2.10:5070");
  assert.deepEqual(dialog.insideRoute, ["<sip:10.0.0.7;lr>", "<sip:10.0.0.8;lr>"]);
  assert.equal(insideNextHop(dialog), "sip:10.0.0.7;lr");
  assert.equal(dialog.insideParty, "<sip:100@127.0.2.10>");
  assert.equal(dialog.confirmed, true);
});

Deno.test("dialogOf() takes the PBX's Record-Routes above ours from its answer, reversed (UAC route set)", () => {
  const request = parse(invite("<sip:192.0.2.1;lr>", "sip:bob@192.0.2.9"));
  const reply = parse(buildResponse(request, 180, "Ringing", {
    toTag: "pbx1",
    headers: [
      ["Record-Route", `<sip:10.0.0.7;lr>, <sip:10.0.0.8;lr>, ${OURS}, <sip:192.0.2.1;lr>`],
      ["Contact", "<sip:100@127.0.2.10>"],
    ],
  }));
  const dialog = dialogOf(request, "external", reply, {
    sides: SIDES,
    outsideCallId: request.callId,
    hidden: false,
    outsidePeer: PEER,
  });
  assert.ok(dialog);
  assert.equal(dialog.outsideTag, "in1");
  assert.equal(dialog.insideTag, "pbx1");
  assert.deepEqual(dialog.insideRoute, ["<sip:10.0.0.8;lr>", "<sip:10.0.0.7;lr>"]);
  assert.equal(dialog.confirmed, false);
});

Deno.test("dialogOf() makes no dialog of a 100, a failure, a REGISTER or an in-dialog request", () => {
  const request = parse(invite("<sip:192.0.2.1;lr>", "sip:bob@192.0.2.9"));
  for (const status of [100, 486]) {
    const reply = parse(buildResponse(request, status, "x", { toTag: "t" }));
    assert.equal(
      dialogOf(request, "external", reply, {
        sides: SIDES,
        outsideCallId: "",
        hidden: false,
        outsidePeer: PEER,
      }),
      undefined,
    );
  }
  const register = parse(invite("<sip:192.0.2.1;lr>", "sip:b@x").replaceAll("INVITE", "REGISTER"));
  const reply = parse(buildResponse(register, 200, "OK", { toTag: "t" }));
  assert.equal(
    dialogOf(register, "external", reply, {
      sides: SIDES,
      outsideCallId: "",
      hidden: false,
      outsidePeer: PEER,
    }),
    undefined,
  );
});

Deno.test("withoutTag() drops the tag and keeps the URI's own parameters", () => {
  assert.equal(withoutTag('"A" <sip:a@b;user=phone>;tag=1;x=2'), '"A" <sip:a@b;user=phone>;x=2');
  assert.equal(withoutTag("sip:a@b;tag=1"), "sip:a@b");
});

Deno.test("DialogTable forgets a dialog idle longer than its limit, lazily and without a timer", () => {
  const clock = new ManualClock();
  const table = new DialogTable({ clock, idleMs: 1000 });
  const request = parse(invite("<sip:192.0.2.1;lr>", "sip:bob@192.0.2.9"));
  const reply = parse(buildResponse(request, 200, "OK", { toTag: "out1" }));
  table.add(
    dialogOf(request, "internal", reply, {
      sides: SIDES,
      outsideCallId: request.callId,
      hidden: false,
      outsidePeer: PEER,
    })!,
  );
  assert.equal(clock.pending, 0);
  const bye = parse(
    sip([
      "BYE sip:100@127.0.2.10 SIP/2.0",
      "Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKb",
      "From: <sip:bob@192.0.2.9>;tag=out1",
      "To: <sip:100@127.0.2.10>;tag=in1",
      "Call-ID: c1@127.0.2.10",
      "CSeq: 2 BYE",
    ]),
  );
  clock.advance(999);
  assert.ok(table.match(bye, "external")); // and refreshed
  clock.advance(999);
  assert.ok(table.match(bye, "external"));
  clock.advance(1000);
  assert.equal(table.match(bye, "external"), undefined);
  assert.equal(table.size, 0);
  table.close();
});

Deno.test("DialogTable records no dialog past its limit", () => {
  const table = new DialogTable({ clock: new ManualClock(), max: 1 });
  const view = { sides: SIDES, outsideCallId: "", hidden: false, outsidePeer: PEER };
  for (const [callId, kept] of [["a@x", true], ["b@x", false]] as const) {
    const request = parse(invite("<sip:192.0.2.1;lr>", "sip:b@x").replace("c1@127.0.2.10", callId));
    const reply = parse(buildResponse(request, 200, "OK", { toTag: "t" }));
    const dialog = dialogOf(request, "internal", reply, { ...view, outsideCallId: callId })!;
    assert.equal(table.add(dialog) !== undefined, kept, callId);
  }
  assert.equal(table.size, 1);
  table.close();
});
