// `deno compile` bundles only the static module graph: a dynamic import() of a file outside it
// would fail in the binary. Routing scripts are read as text and evaluated instead.
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

interface InfoModule {
  specifier: string;
  dependencies?: { specifier: string; isDynamic?: boolean }[];
}

Deno.test("main.ts has a static module graph of local, npm and node modules only", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "main.ts"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: InfoModule[] };
  const dynamic = info.modules.flatMap((m) =>
    (m.dependencies ?? []).filter((d) => d.isDynamic).map((d) => `${m.specifier} → ${d.specifier}`)
  );
  assert.deepEqual(dynamic, []);
  const schemes = new Set(info.modules.map((m) => m.specifier.split(":")[0]));
  for (const scheme of schemes) assert.ok(["file", "npm", "node"].includes(scheme ?? ""), scheme);
  const local = info.modules.filter((m) => m.specifier.startsWith("file:"));
  assert.ok(
    local.some((m) => m.specifier.endsWith("/sbc/script/script.ts")),
    "script loader in graph",
  );
});

/** The `--allow-*` flags and the entry module of a `deno run` / `deno compile` command line. */
function launch(command: string): { permissions: string[]; entry: string | undefined } {
  const words = command.split(/\s+/);
  return {
    permissions: words.filter((w) => w.startsWith("--allow-")).sort(),
    entry: words.find((w) => w.endsWith(".ts")),
  };
}

Deno.test("deno task compile builds the entry of deno task start with exactly its permissions", async () => {
  const tasks = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))).tasks;
  const start = launch(tasks.start);
  const compile = launch(tasks.compile);
  assert.equal(compile.entry, start.entry);
  // A permission the SBC needs under `deno task start` and the binary lacks fails only at run time;
  // one the binary has beyond it is one a routing script gets for nothing.
  assert.deepEqual(compile.permissions, start.permissions);
  // docs/operations.md shows the start command for running from source.
  const docs = await Deno.readTextFile(new URL("docs/operations.md", ROOT));
  const documented = /^deno run .*main\.ts run\b.*$/m.exec(docs);
  assert.ok(documented, "docs/operations.md shows the deno run command");
  assert.deepEqual(launch(documented[0]).permissions, start.permissions);
});
