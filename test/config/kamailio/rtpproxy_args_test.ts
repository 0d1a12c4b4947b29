import assert from "node:assert/strict";
import {
  parseRtpproxyArgs,
  RTPPROXY_DEFAULTS,
  splitShellWords,
} from "../../../config/kamailio/rtpproxy_args.ts";

const FIXTURE = new URL("../../fixtures/kamailio/seed-bridge.rtpproxy.args", import.meta.url);

Deno.test("parseRtpproxyArgs() reads the seed deployment's command line", async () => {
  const args = parseRtpproxyArgs(await Deno.readTextFile(FIXTURE));
  assert.deepEqual(args.listen, ["10.0.1.100", "10.0.2.100"]);
  assert.deepEqual(args.advertise, ["1.1.1.1", "10.0.2.100"]);
  assert.equal(args.portMin, 10000);
  assert.equal(args.portMax, 20000);
  assert.equal(args.ttl, undefined);
  assert.deepEqual(args.skipped.map((s) => [s.option, s.value]), [
    ["-u", "rtpproxy"],
    ["-s", "udp:*:7722"],
    ["-d", "INFO"],
  ]);
  // The stray second "rtpproxy" after "-u rtpproxy" is reported, with the likely intent.
  assert.deepEqual(args.warnings, [
    'rtpproxy argument "rtpproxy" is not an option: ignored (did you mean "-u rtpproxy:rtpproxy"?)',
  ]);
});

Deno.test("parseRtpproxyArgs() keeps the -l order, one address or two", async (t) => {
  await t.step("bridge mode", () => {
    assert.deepEqual(parseRtpproxyArgs("-l 10.0.2.100/10.0.1.100").listen, [
      "10.0.2.100",
      "10.0.1.100",
    ]);
  });
  await t.step("single address", () => {
    assert.deepEqual(parseRtpproxyArgs("-l 192.0.2.1").listen, ["192.0.2.1"]);
  });
  await t.step("an IPv6 half with -6 takes its position", () => {
    assert.deepEqual(parseRtpproxyArgs("-l 192.0.2.1/ -6 /2001:db8::1").listen, [
      "192.0.2.1",
      "2001:db8::1",
    ]);
  });
});

Deno.test("parseRtpproxyArgs() reads attached values, flag clusters and the program name", () => {
  const args = parseRtpproxyArgs("/usr/bin/rtpproxy -fF -m30000 -M 40000 -T 90 -l 192.0.2.1");
  assert.equal(args.portMin, 30000);
  assert.equal(args.portMax, 40000);
  assert.equal(args.ttl, 90);
  assert.deepEqual(args.skipped.map((s) => s.option), ["-f", "-F"]);
  assert.deepEqual(args.warnings, []);
});

Deno.test("parseRtpproxyArgs() warns about options it cannot translate", () => {
  const args = parseRtpproxyArgs("-l 192.0.2.1 -2 -t 184 -q --dso x -m abc -M");
  assert.deepEqual(args.warnings, [
    "rtpproxy -2 not translated: send low-bitrate packets twice: not supported",
    "rtpproxy -t 184 not translated: IP ToS of RTP packets: not supported",
    'rtpproxy option "-q" is not known to edgesbc import: ignored',
    'rtpproxy option "--dso" is not known to edgesbc import: ignored',
    'rtpproxy argument "x" is not an option: ignored',
    'rtpproxy -m "abc" is not a number: ignored',
    "rtpproxy -M needs a value: ignored",
  ]);
  assert.equal(args.portMin, undefined);
});

Deno.test("RTPPROXY_DEFAULTS are rtpproxy's PORT_MIN, PORT_MAX and SESSION_TIMEOUT", () => {
  assert.deepEqual(RTPPROXY_DEFAULTS, { portMin: 35000, portMax: 65000, ttl: 60 });
});

Deno.test("splitShellWords() handles quotes, escapes, newlines and comments", () => {
  assert.deepEqual(
    splitShellWords(
      `-l "10.0.1.100/10.0.2.100" -s 'unix:/var/run/a b.sock' \\\n -d\tINFO # log\n-F`,
    ),
    {
      words: ["-l", "10.0.1.100/10.0.2.100", "-s", "unix:/var/run/a b.sock", "-d", "INFO", "-F"],
      error: undefined,
    },
  );
  assert.deepEqual(splitShellWords(`-l "10.0.1.100`), {
    words: ["-l", "10.0.1.100"],
    error: 'unterminated " quote',
  });
});
