// In-dialog requests an outsider forges (issue "The edge holds"): with the Call-ID and tags of
// a real call through the SBC, each names a victim inside (in its Request-URI, a Route after the
// SBC's, a Route naming only the SBC's inside, a Path `received=`, `;transport=tcp`, a
// strict-route repair, an ACK with a body). Only the PBX may receive them; a victim listener on
// another inside address, over UDP and TCP, must receive nothing. A request whose tags match no
// dialog gets 404, and the real call still ends with its BYE.
import assert from "node:assert/strict";
import { ADDRESS, type Ports, sleep, usingPorts, withSbc } from "./_harness.ts";
import { mediaConfig, sdpBody } from "./_media.ts";
import {
  type Dialog,
  establishCall,
  hangUp,
  isRequest,
  isResponse,
  SipEndpoint,
} from "./_sip_peer.ts";

const VICTIM = "127.0.2.99";

let branch = 0;

/** An in-dialog request of `dialog` as the outsider forges it: its own URI, Routes and tags. */
function forged(
  dialog: Dialog,
  method: string,
  options: { uri: string; routes: string[]; toTag?: string; body?: string },
): string {
  const { endpoint } = dialog;
  const body = options.body ?? "";
  return [
    `${method} ${options.uri} SIP/2.0`,
    `Via: SIP/2.0/UDP ${endpoint.host}:${endpoint.port};branch=z9hG4bK-forged${++branch}`,
    ...options.routes.map((route) => `Route: ${route}`),
    "Max-Forwards: 70",
    `From: <${dialog.localUri}>;tag=${dialog.localTag}`,
    `To: <${dialog.remoteUri}>;tag=${options.toTag ?? dialog.remoteTag}`,
    `Call-ID: ${dialog.callId}`,
    `CSeq: ${dialog.cseq + 10 + branch} ${method}`,
    ...(body ? ["Content-Type: application/sdp"] : []),
    `Content-Length: ${body.length}`,
    "",
    body,
  ].join("\r\n");
}

Deno.test("an outsider's forged in-dialog requests reach only the PBX, never another inside host", async () => {
  const ports: Ports = usingPorts(56);
  await withSbc({ ports, configToml: mediaConfig(ports) }, async () => {
    await using phone = new SipEndpoint(ADDRESS.phone, ports.phone);
    await using pbx = new SipEndpoint(ADDRESS.pbx, ports.pbx);
    await using victim = new SipEndpoint(VICTIM, ports.pbx);
    const victimTcp = Deno.listen({ hostname: VICTIM, port: ports.pbx });
    let tcpAccepted = 0;
    const accepting = (async () => {
      for await (const conn of victimTcp) {
        tcpAccepted++;
        conn.close();
      }
    })();
    try {
      const sbc = { host: ADDRESS.external, port: ports.sbc };
      const sdp = (address: string, port: number) =>
        sdpBody({ address, media: [{ type: "audio", port, connection: address }] });
      const call = await establishCall(
        phone,
        pbx,
        sbc,
        sdp(ADDRESS.phone, ports.phoneMedia),
        sdp(ADDRESS.pbx, ports.pbxMedia),
      );
      const ext = `<sip:${ADDRESS.external}:${ports.sbc};lr>`;
      const int = `<sip:${ADDRESS.internal}:${ports.sbc};lr>`;
      const victimUri = `sip:victim@${VICTIM}:${ports.pbx}`;
      const attacks: [string, { uri: string; routes: string[]; body?: string }][] = [
        ["INFO", { uri: victimUri, routes: [ext] }],
        ["INFO", {
          uri: call.caller.remoteTarget,
          routes: [ext, `<sip:${VICTIM}:${ports.pbx};lr>`],
        }],
        ["INFO", { uri: victimUri, routes: [int] }],
        ["INFO", {
          uri: call.caller.remoteTarget,
          routes: [`<sip:${ADDRESS.external}:${ports.sbc};lr;received=${victimUri}>`],
        }],
        ["INFO", { uri: `${victimUri};transport=tcp`, routes: [ext] }],
        // A strict router's rewrite: the Request-URI is the SBC, the real target the last Route.
        ["INFO", { uri: `sip:${ADDRESS.external}:${ports.sbc}`, routes: [`<${victimUri}>`] }],
        ["ACK", { uri: victimUri, routes: [ext], body: sdp(ADDRESS.phone, ports.phoneMedia) }],
      ];
      for (const [method, attack] of attacks) {
        await phone.send(forged(call.caller, method, attack), sbc);
        const at = await pbx.expect(isRequest(method), `${method} ${JSON.stringify(attack)}`);
        // The PBX's Contact, as the SBC recorded it: not what the request named.
        assert.equal(at.msg.uri, `sip:${ADDRESS.pbx}:${ports.pbx}`);
      }
      // Tags of no dialog: 404, and nothing crosses.
      await phone.send(
        forged(call.caller, "BYE", { uri: victimUri, routes: [ext], toTag: "guessed" }),
        sbc,
      );
      const refused = await phone.expect(
        isResponse("BYE", call.caller.cseq + 10 + branch, 404),
        "404",
      );
      assert.equal(refused.msg.reason, "Not Here");

      await hangUp(call.caller, call.callee);
      await sleep(500);
      assert.deepEqual(victim.log.map((m) => m.msg.method || m.msg.status), [], "victim (UDP)");
      assert.equal(tcpAccepted, 0, "victim (TCP) accepted a connection");
    } finally {
      victimTcp.close();
      await accepting.catch(() => {});
    }
  });
});
