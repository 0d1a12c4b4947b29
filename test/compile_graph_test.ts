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

Deno.test("deno task compile builds main.ts with the permissions the SBC needs", async () => {
  const tasks = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))).tasks;
  const compile: string = tasks.compile;
  assert.match(compile, /deno compile .*--output dist\/edgesbc main\.ts$/);
  for (const flag of ["--allow-net", "--allow-read"]) assert.ok(compile.includes(flag), flag);
});
