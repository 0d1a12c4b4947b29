import assert from "node:assert/strict";
import { type AdminSource, handleAdmin } from "../sbc/admin/admin_server.ts";
import { readGitCommit, VERSION } from "../sbc/admin/build_info.ts";
import { runMain } from "./kit/run_main.ts";

/** `main.ts <args>` with only the permissions these commands need. */
const main = (...args: string[]) =>
  runMain(args, { permissions: ["--allow-read", "--allow-net=127.0.0.1"] });

async function withFile(text: string, fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/edge.toml`;
    await Deno.writeTextFile(path, text);
    await fn(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const GOOD = `[interfaces.external]
role = "external"
sip = ["udp:127.0.1.1:5060"]
media = "127.0.1.1"

[interfaces.internal]
role = "internal"
sip = ["udp:127.0.2.1:5060"]
media = "127.0.2.1"

[pbx]
address = "udp:127.0.2.10:5060"
`;

Deno.test("main.ts check prints the resolved config and exits 0", async () => {
  await withFile(GOOD, async (path) => {
    const { code, stdout, stderr } = await main("check", "-c", path);
    assert.equal(stderr, "");
    assert.equal(code, 0);
    assert.match(stdout, /\[interfaces\.external\]\nrole = "external"\n/);
    assert.match(stdout, /\ntimeout = 60\n/);
  });
});

Deno.test("main.ts check prints FILE:LINE: message and exits 2 on a bad config", async () => {
  await withFile(
    GOOD.replace('media = "127.0.2.1"', 'media = "127.0.2.1"\ncolour = "red"'),
    async (path) => {
      const { code, stdout, stderr } = await main("check", "-c", path);
      assert.equal(code, 2);
      assert.equal(stdout, "");
      assert.equal(
        stderr,
        `${path}:10: interfaces.internal.colour: unknown key: allowed keys here are advertise, ` +
          "allow, deny, flags, media, nat_ping, networks, role, server_header, sip, srtp, tls, " +
          "topology_hiding and trusted\n",
      );
    },
  );
});

Deno.test("main.ts check reports an unreadable file and exits 2", async () => {
  const { code, stderr } = await main("check", "-c", "/nonexistent/edge.toml");
  assert.equal(code, 2);
  assert.match(stderr, /^\/nonexistent\/edge\.toml: cannot read: /);
});

Deno.test("main.ts exits 2 with a usage line on bad arguments", async (t) => {
  const cases = [
    [[], "edgesbc: a command is required\n"],
    [["frobnicate"], 'edgesbc: unknown command "frobnicate"\n'],
    [["check"], "edgesbc: -c FILE is required\nUsage: edgesbc check -c FILE\n"],
    [["check", "-c"], "Usage: edgesbc check -c FILE\n"],
    [["ctl", "restart"], 'edgesbc: unknown ctl command "restart"\n'],
  ] as const;
  for (const [args, expected] of cases) {
    await t.step(args.join(" ") || "(no arguments)", async () => {
      const { code, stderr } = await main(...args);
      assert.equal(code, 2);
      assert.ok(stderr.includes(expected), stderr);
      assert.match(stderr, /Usage: edgesbc /);
    });
  }
});

Deno.test("main.ts --help prints usage and exits 0", async () => {
  const { code, stdout } = await main("--help");
  assert.equal(code, 0);
  assert.match(stdout, /^Usage: edgesbc COMMAND/);
  assert.match(stdout, /edgesbc check -c FILE/);
});

Deno.test("main.ts --version prints edgesbc's version, the commit, Deno and V8", async () => {
  const { code, stdout, stderr } = await main("--version");
  assert.equal(stderr, "");
  assert.equal(code, 0);
  const commit = readGitCommit(new URL("..", import.meta.url));
  assert.ok(commit, "this checkout has a commit");
  assert.equal(
    stdout,
    `edgesbc ${VERSION} (commit ${commit.slice(0, 12)})\n` +
      `deno ${Deno.version.deno}\nv8 ${Deno.version.v8}\n`,
  );
  assert.match(VERSION, /^\d+\.\d+\.\d+$/);
});

const FIXTURES = new URL("fixtures/kamailio/", import.meta.url).pathname;
const SEED_CFG = `${FIXTURES}seed-bridge.kamailio.cfg`;
const SEED_ARGS = `${FIXTURES}seed-bridge.rtpproxy.args`;

Deno.test("main.ts import prints a TOML config that check accepts", async (t) => {
  const args = (await Deno.readTextFile(SEED_ARGS)).trim();
  const forms = {
    "--rtpproxy-file FILE": ["--rtpproxy-file", SEED_ARGS],
    '--rtpproxy "-A …"': ["--rtpproxy", args],
    '--rtpproxy="-A …"': [`--rtpproxy=${args}`],
  };
  for (const [name, form] of Object.entries(forms)) {
    await t.step(name, async () => {
      const imported = await main("import", "--kamailio", SEED_CFG, ...form);
      assert.equal(imported.code, 0, imported.stderr);
      assert.match(imported.stdout, /^\[interfaces\.external\]$/m);
      // Choices are reported on stderr, one per line, never on stdout.
      assert.match(imported.stderr, /^edgesbc import: .*names no transport/m);
      await withFile(imported.stdout, async (path) => {
        const checked = await main("check", "-c", path);
        assert.equal(checked.stderr, "");
        assert.equal(checked.code, 0);
        assert.match(checked.stdout, /\nadvertise = "1\.1\.1\.1"\n/);
        assert.match(checked.stdout, /\naddress = "tcp:10\.0\.2\.200:5060"\n/);
      });
    });
  }
});

Deno.test("main.ts import exits 2 when a file cannot be read", async (t) => {
  await t.step("--kamailio", async () => {
    const { code, stdout, stderr } = await main("import", "--kamailio", "/nonexistent.cfg");
    assert.equal(code, 2);
    assert.equal(stdout, "");
    assert.match(stderr, /^\/nonexistent\.cfg: cannot read: /);
  });
  await t.step("--rtpproxy-file", async () => {
    const { code, stderr } = await main(
      "import",
      "--kamailio",
      SEED_CFG,
      "--rtpproxy-file",
      "/nonexistent.args",
    );
    assert.equal(code, 2);
    assert.match(stderr, /^\/nonexistent\.args: cannot read: /);
  });
  await t.step("no --kamailio", async () => {
    const { code, stderr } = await main("import");
    assert.equal(code, 2);
    assert.match(stderr, /--kamailio CFG is required/);
  });
});

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

Deno.test("main.ts ctl exits 3 naming the address when no instance answers", async () => {
  const port = freePort();
  const { code, stdout, stderr } = await main("ctl", "stats", "--admin", `127.0.0.1:${port}`);
  assert.equal(code, 3);
  assert.equal(stdout, "");
  assert.ok(
    stderr.startsWith(
      `edgesbc ctl: Cannot reach the admin API at http://127.0.0.1:${port}/api/stats`,
    ),
    stderr,
  );
});

Deno.test("main.ts ctl prints the answer; exit 0 on 2xx, 1 otherwise", async () => {
  const source: AdminSource = {
    stats: () => ({ calls: 2 }),
    calls: () => [{ callId: "a@b" }],
    metrics: () => "",
    reload: () => Promise.resolve({ ok: false, message: "script has a syntax error" }),
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => handleAdmin(req, source),
  );
  const admin = `127.0.0.1:${server.addr.port}`;
  try {
    const stats = await main("ctl", "stats", "--admin", admin);
    assert.equal(stats.code, 0, stats.stderr);
    assert.deepEqual(JSON.parse(stats.stdout), { calls: 2 });
    const calls = await main("ctl", "calls", "--admin", admin);
    assert.deepEqual(JSON.parse(calls.stdout), [{ callId: "a@b" }]);
    const reload = await main("ctl", "reload", "--admin", admin);
    assert.equal(reload.code, 1);
    assert.deepEqual(JSON.parse(reload.stdout), {
      ok: false,
      message: "script has a syntax error",
    });
    assert.equal(reload.stderr, `edgesbc ctl: POST /api/reload on ${admin} answered 422\n`);
  } finally {
    await server.shutdown();
  }
});

Deno.test("main.ts ctl -c FILE asks the admin.listen of that config", async () => {
  const port = freePort();
  await withFile(`${GOOD}\n[admin]\nlisten = "127.0.0.1:${port}"\n`, async (path) => {
    const { code, stderr } = await main("ctl", "calls", "-c", path);
    assert.equal(code, 3);
    assert.match(stderr, new RegExp(`http://127\\.0\\.0\\.1:${port}/api/calls`));
  });
  await withFile(GOOD, async (path) => {
    const { code, stderr } = await main("ctl", "calls", "-c", path);
    assert.equal(code, 1);
    assert.match(stderr, /has no admin\.listen/);
  });
});
