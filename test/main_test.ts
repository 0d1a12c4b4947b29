import assert from "node:assert/strict";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const ROOT = new URL("..", import.meta.url).pathname;

async function runMain(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", MAIN, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

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
    const { code, stdout, stderr } = await runMain("check", "-c", path);
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
      const { code, stdout, stderr } = await runMain("check", "-c", path);
      assert.equal(code, 2);
      assert.equal(stdout, "");
      assert.equal(
        stderr,
        `${path}:10: interfaces.internal.colour: unknown key: allowed keys here are advertise, ` +
          "flags, media, role and sip\n",
      );
    },
  );
});

Deno.test("main.ts check reports an unreadable file and exits 2", async () => {
  const { code, stderr } = await runMain("check", "-c", "/nonexistent/edge.toml");
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
      const { code, stderr } = await runMain(...args);
      assert.equal(code, 2);
      assert.ok(stderr.includes(expected), stderr);
      assert.match(stderr, /Usage: edgesbc /);
    });
  }
});

Deno.test("main.ts --help prints usage and exits 0", async () => {
  const { code, stdout } = await runMain("--help");
  assert.equal(code, 0);
  assert.match(stdout, /^Usage: edgesbc COMMAND/);
  assert.match(stdout, /edgesbc check -c FILE/);
});
