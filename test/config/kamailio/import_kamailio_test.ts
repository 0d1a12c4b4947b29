import assert from "node:assert/strict";
import { importKamailio } from "../../../config/kamailio/import_kamailio.ts";
import { loadConfig } from "../../../config/load.ts";

// Copies of shared/fixtures/, so the tests do not depend on shared/ being checked out beside us.
const FIXTURES = new URL("../../fixtures/kamailio/", import.meta.url);
const CFG = await Deno.readTextFile(new URL("seed-bridge.kamailio.cfg", FIXTURES));
const ARGS = await Deno.readTextFile(new URL("seed-bridge.rtpproxy.args", FIXTURES));

function load(toml: string) {
  return loadConfig(toml, "imported.toml");
}

Deno.test("importKamailio() turns the seed bridge deployment into a loadable config", () => {
  const { toml, warnings } = importKamailio(CFG, ARGS);
  const config = load(toml);
  assert.deepEqual(config.external.sip, [
    { proto: "udp", host: "10.0.1.100", port: 5060 },
    { proto: "tcp", host: "10.0.1.100", port: 5060 },
  ]);
  assert.equal(config.external.media, "10.0.1.100");
  assert.equal(config.external.advertise, "1.1.1.1");
  assert.equal(config.external.flags, "wc");
  assert.deepEqual(config.internal.sip, [{ proto: "tcp", host: "10.0.2.100", port: 5060 }]);
  assert.equal(config.internal.media, "10.0.2.100");
  // -A names 10.0.2.100 for the internal side: its own address, so no advertise.
  assert.equal(config.internal.advertise, undefined);
  assert.equal(config.internal.flags, "wc");
  // t_relay("10.0.2.200", "5060") names no transport; the internal side listens on tcp only.
  assert.deepEqual(config.pbx.address, { proto: "tcp", host: "10.0.2.200", port: 5060 });
  assert.deepEqual(config.media.ports, [10000, 20000]);
  assert.equal(config.media.timeout, 60);
  assert.deepEqual(config.admin.listen, { host: "127.0.0.1", port: 8089 });
  // Everything in the seed config is understood; only choices are reported.
  assert.equal(warnings.filter((w) => w.startsWith("not translated")).length, 0);
  assert.ok(warnings.some((w) => w.includes("names no transport")), warnings.join("\n"));
  assert.doesNotMatch(toml, /not translated/);
});

Deno.test("importKamailio() says where each value came from", () => {
  const { toml } = importKamailio(CFG, ARGS);
  for (
    const expected of [
      "# from: listen = udp:10.0.1.100:5060",
      "# from: listen = tcp:10.0.2.100:5060",
      '# from: rtpproxy -l 10.0.1.100/10.0.2.100 (first address: "i")',
      "# from: rtpproxy -A 1.1.1.1/10.0.2.100 (first address)",
      "# from: rtpproxy_manage('iewc') (request_route, line 38)",
      '# from: rtpproxy_manage("iewc") (onreply_route, line 45)',
      '# from: t_relay("10.0.2.200", "5060") (request_route, line 40)',
      "# from: rtpproxy -m 10000 -M 20000",
      "# internal: 10.0.2.100 shares 24 leading bits with the PBX 10.0.2.200 (10.0.1.100: 22)",
    ]
  ) assert.ok(toml.includes(`${expected}\n`), `missing: ${expected}\n${toml}`);
});

Deno.test("importKamailio() keeps the i/e mapping of rtpproxy -l as a comment", async (t) => {
  await t.step("seed order: i is the external address", () => {
    const { toml } = importKamailio(CFG, ARGS);
    assert.ok(
      toml.split("\n").includes(
        "# rtpproxy -l 10.0.1.100/10.0.2.100: i = 10.0.1.100 (external), e = 10.0.2.100 (internal)",
      ),
      toml,
    );
  });
  await t.step("reversed -l: i follows the order, the roles do not move", () => {
    const reversed = ARGS.replace("-l 10.0.1.100/10.0.2.100", "-l 10.0.2.100/10.0.1.100")
      .replace("-A 1.1.1.1/10.0.2.100", "-A 10.0.2.100/1.1.1.1");
    const { toml } = importKamailio(CFG, reversed);
    assert.ok(
      toml.split("\n").includes(
        "# rtpproxy -l 10.0.2.100/10.0.1.100: i = 10.0.2.100 (internal), e = 10.0.1.100 (external)",
      ),
      toml,
    );
    const config = load(toml);
    assert.equal(config.internal.media, "10.0.2.100");
    assert.equal(config.external.media, "10.0.1.100");
    assert.equal(config.external.advertise, "1.1.1.1");
  });
});

Deno.test("importKamailio() decides the internal side by the PBX, not by -l order", async (t) => {
  // Same sockets; only the PBX moves to the 10.0.1.x subnet.
  const cfg = CFG.replace('t_relay("10.0.2.200", "5060")', 't_relay("10.0.1.200", "5070")');
  await t.step("seed -l order", () => {
    const config = load(importKamailio(cfg, ARGS).toml);
    assert.equal(config.internal.media, "10.0.1.100");
    assert.equal(config.external.media, "10.0.2.100");
    assert.deepEqual(config.pbx.address, { proto: "udp", host: "10.0.1.200", port: 5070 });
  });
  await t.step("reversed -l order", () => {
    const reversed = ARGS.replace("-l 10.0.1.100/10.0.2.100", "-l 10.0.2.100/10.0.1.100");
    const config = load(importKamailio(cfg, reversed).toml);
    assert.equal(config.internal.media, "10.0.1.100");
    assert.equal(config.external.media, "10.0.2.100");
  });
  await t.step("$du with a transport", () => {
    const du = CFG.replace(
      't_relay("10.0.2.200", "5060");',
      '$du = "sip:10.0.2.201:5080;transport=tcp";\n  t_relay();',
    );
    const config = load(importKamailio(du, ARGS).toml);
    assert.deepEqual(config.pbx.address, { proto: "tcp", host: "10.0.2.201", port: 5080 });
    assert.equal(config.internal.media, "10.0.2.100");
  });
});

const UNTRANSLATABLE = `#!KAMAILIO
#!define PBX "192.168.10.5"
listen=udp:192.168.10.2:5060
listen=udp:203.0.113.7:5060 advertise 198.51.100.7:5060
listen=tls:203.0.113.7:5061
loadmodule "tm.so"
loadmodule "nathelper.so"
loadmodule "dispatcher.so"
tcp_connection_lifetime = 3605
request_route {
  if (!mf_process_maxfwd_header("10")) {
    sl_send_reply("483", "Too Many Hops");
    exit;
  }
  force_rport();
  if (src_ip == 192.168.10.5) {
    rtpproxy_manage("eiw");
  } else {
    rtpproxy_manage("ier");
  }
  route(RELAY);
}
route[RELAY] {
  $du = "sip:" + PBX + ":5060";
  t_on_failure("FAIL");
  if (!t_relay()) {
    sl_reply_error();
  }
  exit;
}
failure_route[FAIL] {
  xlog("L_INFO", "failed // not a comment\\n");
  t_relay_to_udp("192.168.10.6", "5060");
}
onreply_route {
  if (nat_uac_test("1")) fix_nated_contact();
  rtpproxy_manage("z20co");
}
`;

Deno.test("importKamailio() lists every statement it cannot translate", () => {
  const { toml, warnings } = importKamailio(UNTRANSLATABLE, "-l 203.0.113.7/192.168.10.2");
  const untranslated = warnings.filter((w) => w.startsWith("not translated: "));
  assert.deepEqual(untranslated, [
    'not translated: line 7: loadmodule "nathelper.so" (SIP NAT fixing; edgesbc answers to the ' +
    "source address and latches media, but Contact rewriting and keepalives need a routing script)",
    'not translated: line 8: loadmodule "dispatcher.so" (edgesbc has one PBX address; load ' +
    "balancing and failover need a routing script)",
    "not translated: line 5: listen=tls:203.0.113.7:5061 (tls is not supported: udp and tcp only)",
    "not translated: request_route (line 15): force_rport()",
    "not translated: request_route (line 16): if (src_ip == 192.168.10.5) (condition ignored: " +
    "both branches were read)",
    'not translated: route[RELAY] (line 25): t_on_failure("FAIL") (failure_route needs a routing ' +
    "script)",
    'not translated: failure_route[FAIL] (line 33): t_relay_to_udp("192.168.10.6", "5060") ' +
    "(relaying from here needs a routing script)",
    'not translated: onreply_route (line 36): nat_uac_test("1")',
    "not translated: onreply_route (line 36): fix_nated_contact()",
  ]);
  // The same entries head the TOML as comments.
  assert.match(toml, /^# not translated: request_route \(line 15\): force_rport\(\)$/m);
  assert.match(toml, /^# not translated: onreply_route \(line 36\): fix_nated_contact\(\)$/m);

  const config = load(toml);
  // rtpproxy_manage under an unmappable condition: the union goes to both sides, with a note.
  assert.equal(config.external.flags, "wrco");
  assert.equal(config.internal.flags, "wrco");
  assert.ok(warnings.some((w) => w.includes("runs inside if (src_ip == 192.168.10.5)")));
  assert.ok(warnings.some((w) => w.includes('"z20" (repacketization) is not supported')));
  assert.ok(warnings.some((w) => w.startsWith("the dispatcher module picks destinations")));
  // #!define and "+" concatenation give the PBX; the listen advertise gives the external one.
  assert.deepEqual(config.pbx.address, { proto: "udp", host: "192.168.10.5", port: 5060 });
  assert.equal(config.external.advertise, "198.51.100.7");
  assert.equal(config.internal.media, "192.168.10.2");
  assert.equal(config.sip.tcpIdleTimeout, 3605);
});

Deno.test("importKamailio() without rtpproxy arguments uses rtpproxy's defaults", () => {
  const { toml, warnings } = importKamailio(CFG, undefined);
  const config = load(toml);
  assert.deepEqual(config.media.ports, [35000, 65000]);
  assert.equal(config.media.timeout, 60);
  assert.equal(config.external.media, "10.0.1.100");
  assert.equal(config.internal.media, "10.0.2.100");
  assert.ok(warnings.some((w) => w.startsWith("no rtpproxy arguments given")));
});

Deno.test("importKamailio() leaves pbx.address for the operator when no route names it", () => {
  const cfg = CFG.replace('t_relay("10.0.2.200", "5060");', "t_relay();");
  const { toml, warnings } = importKamailio(cfg, ARGS);
  assert.ok(warnings.some((w) => w.startsWith("no PBX address found")));
  // `check` refuses it at the placeholder, so it is never run by mistake.
  assert.throws(() => load(toml), /pbx\.address: "SET_ME" is not a valid socket address/);
});
