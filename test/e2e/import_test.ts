// End to end: the seed deployment's Kamailio + rtpproxy config, imported by `main.ts import`,
// moved onto loopback and run, carries a call with media.
import assert from "node:assert/strict";
import {
  ADDRESS,
  adminGet,
  assertAllCallsSucceeded,
  headerValues,
  received,
  runSipp,
  startSippServer,
  usingPorts,
  withSbc,
} from "./_harness.ts";
import { runMain } from "../kit/run_main.ts";
import { replaceOnce, tempDir } from "./_script.ts";

const FIXTURES = "test/fixtures/kamailio";

Deno.test("the imported seed config passes check and relays a call with media to a TCP PBX", async () => {
  const ports = usingPorts(30);
  const imported = await runMain([
    "import",
    "--kamailio",
    `${FIXTURES}/seed-bridge.kamailio.cfg`,
    "--rtpproxy-file",
    `${FIXTURES}/seed-bridge.rtpproxy.args`,
  ]);
  assert.equal(imported.code, 0, imported.stderr);
  // the importer says what it chose instead of dropping it silently
  assert.match(imported.stderr, /t_relay\("10\.0\.2\.200", "5060"\) names no transport/);

  // the seed topology moved onto loopback: addresses, then this test's ports
  let toml = imported.stdout;
  toml = replaceOnce(toml, /"udp:10\.0\.1\.100:5060"/, `"udp:${ADDRESS.external}:${ports.sbc}"`);
  toml = replaceOnce(toml, /"tcp:10\.0\.1\.100:5060"/, `"tcp:${ADDRESS.external}:${ports.sbc}"`);
  toml = replaceOnce(toml, /"tcp:10\.0\.2\.100:5060"/, `"tcp:${ADDRESS.internal}:${ports.sbc}"`);
  // as imported: the PBX over TCP, since the internal side listens on TCP only
  toml = replaceOnce(toml, /"tcp:10\.0\.2\.200:5060"/, `"tcp:${ADDRESS.pbx}:${ports.pbx}"`);
  toml = replaceOnce(toml, /media = "10\.0\.1\.100"/, `media = "${ADDRESS.external}"`);
  toml = replaceOnce(toml, /media = "10\.0\.2\.100"/, `media = "${ADDRESS.internal}"`);
  // rtpproxy -A 1.1.1.1: the published address; here the external address itself
  toml = replaceOnce(toml, /advertise = "1\.1\.1\.1"/, `advertise = "${ADDRESS.external}"`);
  toml = replaceOnce(
    toml,
    /ports = \[10000, 20000\]/,
    `ports = [${ports.mediaRange[0]}, ${ports.mediaRange[1]}]`,
  );
  toml = replaceOnce(
    toml,
    /listen = "127\.0\.0\.1:8089"/,
    `listen = "${ADDRESS.admin}:${ports.admin}"`,
  );
  // the comments still quote the original addresses; no setting does
  const settings = toml.split("\n").filter((line) => !line.startsWith("#"));
  assert.deepEqual(
    settings.filter((line) => /10\.0\.|1\.1\.1\.1|:5060|8089|10000/.test(line)),
    [],
  );

  using dir = tempDir("import");
  const configPath = dir.file("edgesbc.toml");
  await Deno.writeTextFile(configPath, toml);
  const checked = await runMain(["check", "-c", configPath]);
  assert.equal(checked.code, 0, `check -c refused the imported config:\n${checked.stderr}`);

  await withSbc({ ports, configToml: toml }, async () => {
    await using pbx = await startSippServer({
      scenario: "uas-answer-honours-route-set.xml",
      role: "pbx",
      ports,
      transport: "tcp",
      calls: 1,
      // send back every RTP packet to where it came from: the SBC's internal relay port
      args: ["-rtp_echo"],
    });
    const phone = await runSipp({
      scenario: "uac-call-plays-pcap-audio.xml",
      role: "phone",
      ports,
      remote: `${ADDRESS.external}:${ports.sbc}`,
      calls: 1,
      timeoutMs: 30_000,
    });
    const callee = await pbx.wait(15_000);
    assertAllCallsSucceeded(1, { phone, PBX: callee });

    // the PBX was reached over TCP from the internal side, the SDP pointing at the relay
    const [invite] = received(callee, "INVITE");
    assert.ok(invite, callee.describe());
    assert.equal(invite.transport, "TCP");
    assert.match(headerValues(invite.text, "Via")[0] ?? "", /^SIP\/2\.0\/TCP 127\.0\.2\.1:/i);
    assert.match(invite.text, /^c=IN IP4 127\.0\.2\.1$/m);
    // the phone's answer SDP names the external relay address ("advertise")
    const [ok] = received(phone, "200");
    assert.ok(ok, phone.describe());
    assert.match(ok.text, /^c=IN IP4 127\.0\.1\.1$/m);
    assert.match(ok.text, new RegExp(`^m=audio (\\d+) `, "m"));
    const port = Number(/^m=audio (\d+) /m.exec(ok.text)![1]);
    assert.ok(port >= ports.mediaRange[0] && port <= ports.mediaRange[1], `media port ${port}`);

    // 236 packets played towards the PBX and echoed back; allow for the odd late one
    const stats = await adminGet(ports, "/api/stats") as { media: { packetsRelayed: number } };
    assert.ok(
      stats.media.packetsRelayed >= 400,
      `packets relayed: ${JSON.stringify(stats.media)}`,
    );
  });
});
