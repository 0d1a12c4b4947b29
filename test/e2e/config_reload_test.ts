// Config changes without a restart (issue "The PBX side stays up", part 2): a reload re-reads the
// TOML. A call set up before it carries media and ends normally after a reload that changes the
// PBX targets, the flags, the limits and the script; new calls follow the new config. A reload
// that changes a listen address, or a file that fails `check`, is refused and changes nothing.
import assert from "node:assert/strict";
import { ADDRESS, adminGet, REPO_ROOT, usingPorts, withSbc } from "./_harness.ts";
import { mediaConfig, relayPorts, RtpEndpoint, sdpBody } from "./_media.ts";
import { postReload } from "./_script.ts";
import {
  AutoPbx,
  callerDialog,
  isResponse,
  sendInDialog,
  sendInvite,
  SipEndpoint,
} from "./_sip_peer.ts";

const BACKUP = "127.0.2.11";

interface ConfigStats {
  config: { file: string; loaded_at: string; sha256: string };
  pbx: { target: string; priority: number }[];
}

Deno.test("a reload changes targets, flags, limits and the script under a live call; a listen change is refused", async () => {
  const ports = usingPorts(88);
  const audio = (address: string, port: number) =>
    sdpBody({ address, media: [{ type: "audio", port }] });
  const first = mediaConfig(ports);
  await withSbc({ ports, configToml: first }, async (sbc) => {
    await using a = new AutoPbx(ADDRESS.pbx, ports.pbx, () => audio(ADDRESS.pbx, ports.pbxMedia));
    await using b = new AutoPbx(BACKUP, ports.pbx, () => audio(BACKUP, ports.pbxMedia));
    await using phone = new SipEndpoint(ADDRESS.phone, ports.phone);
    await using phoneRtp = new RtpEndpoint(ADDRESS.phone, ports.phoneMedia);
    await using pbxRtp = new RtpEndpoint(ADDRESS.pbx, ports.pbxMedia);
    const sbcOutside = { host: ADDRESS.external, port: ports.sbc };

    // A call up before the reload, with audio.
    const invite = await sendInvite(phone, sbcOutside, audio(ADDRESS.phone, ports.phoneMedia));
    const ok = await phone.expect(isResponse("INVITE", 1, 200), "200");
    const dialog = callerDialog(phone, invite, ok.msg);
    await sendInDialog(dialog, "ACK");
    const relayOut = { hostname: ADDRESS.external, port: relayPorts(ok.msg.body)[0]! };
    await phoneRtp.send(relayOut, { ssrc: 1, count: 5, intervalMs: 10 });
    await pbxRtp.waitFor((r) => r.length >= 5, "audio before the reload");
    const before = await adminGet(ports, "/api/stats") as ConfigStats;
    assert.equal(before.config.file, sbc.configPath);

    // The reload: B preferred, a script, other flags and limits.
    const script = `${REPO_ROOT}examples/failover.ts`;
    const second = first
      .replace(
        /^address = .*$/m,
        `targets = [\n  { address = "udp:${ADDRESS.pbx}:${ports.pbx}", priority = 2 },\n` +
          `  { address = "udp:${BACKUP}:${ports.pbx}", priority = 1 },\n]`,
      )
      .replace(`media = "${ADDRESS.external}"`, `media = "${ADDRESS.external}"\nflags = "c"`) +
      `\n[routing]\nscript = "${script}"\n\n[limits]\ncalls = 100\n`;
    await Deno.writeTextFile(sbc.configPath, second);
    const reloaded = await postReload(ports);
    assert.equal(reloaded.status, 200, JSON.stringify(reloaded.body));
    assert.match(reloaded.body.message ?? "", /reloaded \(sha256 [0-9a-f]{12}\)/);
    const after = await adminGet(ports, "/api/stats") as ConfigStats;
    assert.notEqual(after.config.sha256, before.config.sha256);
    assert.ok(after.config.loaded_at > before.config.loaded_at);
    assert.deepEqual(after.pbx.map((p) => p.priority), [2, 1]);

    // The call from before still carries audio and ends normally.
    await phoneRtp.send(relayOut, { ssrc: 2, count: 5, intervalMs: 10 });
    await pbxRtp.waitFor((r) => r.filter((p) => p.ssrc === 2).length >= 5, "audio after");
    const bye = await sendInDialog(dialog, "BYE");
    await phone.expect(isResponse("BYE", bye.cseq, 200), "200 to the BYE");
    // A new call goes to B, through the script.
    const next = await sendInvite(phone, sbcOutside, audio(ADDRESS.phone, ports.phoneMedia + 2));
    await phone.expect(
      (m) => isResponse("INVITE", 1, 200)(m) && m.callId === next.callId,
      "200 from B",
    );
    assert.deepEqual([a.invites, b.invites], [1, 1]);
    assert.match(await sbc.logs(), /Routing script .*failover\.ts loaded/);

    // A listen address changes: refused, naming the key; the SBC keeps its sockets and config.
    await Deno.writeTextFile(
      sbc.configPath,
      second.replace(`"udp:${ADDRESS.external}:${ports.sbc}"`, `"udp:${ADDRESS.external}:5999"`),
    );
    const refused = await postReload(ports);
    assert.equal(refused.status, 422);
    assert.match(refused.body.message ?? "", /interfaces\.external\.sip cannot change/);
    // A file that fails check: refused with FILE:LINE.
    await Deno.writeTextFile(sbc.configPath, second.replace("[limits]", "[limits]\ncolour = 1"));
    const broken = await postReload(ports);
    assert.equal(broken.status, 422);
    assert.match(broken.body.message ?? "", /config\.toml:\d+: limits\.colour: unknown key/);
    const unchanged = await adminGet(ports, "/api/stats") as ConfigStats;
    assert.equal(unchanged.config.sha256, after.config.sha256);
  });
});
