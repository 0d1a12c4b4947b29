// Every program a test or benchmark spawns must be installed by the command that runs it: test/run.sh
// installs the "test" rows of test/prerequisites.tsv, so a program missing from that list works on
// a machine where someone installed it by hand and fails on every new one.
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const SELF = "test/prerequisites_test.ts";

interface Prerequisite {
  program: string;
  package: string;
  suite: string;
}

async function prerequisites(): Promise<Prerequisite[]> {
  const text = await Deno.readTextFile(new URL("test/prerequisites.tsv", ROOT));
  return text.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("#")).map(
    (line) => {
      const [program = "", pkg = "", suite = ""] = line.split("\t");
      return { program, package: pkg, suite };
    },
  );
}

async function* sourceFiles(dir: URL): AsyncGenerator<URL> {
  for await (const entry of Deno.readDir(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) yield* sourceFiles(url);
    else if (entry.name.endsWith(".ts")) yield url;
  }
}

/** What each `new Deno.Command(…)` in `source` names as its program: a literal or an expression. */
export function spawnedPrograms(source: string): { literal?: string; expression?: string }[] {
  const first = /new Deno\.Command\(\s*("[^"]*"|'[^']*'|Deno\.execPath\(\)|[^,)]+)/g;
  return [...source.matchAll(first)].map(([, arg = ""]) => {
    const literal = /^["'`]([^"'`$]+)["'`]$/.exec(arg.trim());
    return literal ? { literal: literal[1]! } : { expression: arg.trim() };
  });
}

/**
 * Spawns whose program is not a literal name, by file: Deno itself anywhere, and generic helpers
 * whose callers name the program (those programs are listed for their suite).
 */
const COMPUTED_SPAWNS: Record<string, string[]> = {
  "*": ["Deno.execPath()"],
  "test/e2e/_harness.ts": ["program"], // Deno, or the packed file under test
  "test/packaging/pack_test.ts": ["program"], // the packed file, or Deno to compare with
  "bench/sip_bench.ts": ["cmd[0]!"], // version(): kamailio, sipp, tshark
  "bench/rtp_bench.ts": ["cmd"], // commandOutput(): rtpengine, deno
};

const isComputedSpawn = (path: string, expression: string) =>
  [...COMPUTED_SPAWNS["*"]!, ...(COMPUTED_SPAWNS[path] ?? [])].includes(expression);

async function spawnsIn(suite: "test" | "bench"): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  for await (const file of sourceFiles(new URL(`${suite}/`, ROOT))) {
    const path = file.pathname.slice(ROOT.pathname.length);
    if (path === SELF) continue; // its examples spawn nothing
    for (const spawn of spawnedPrograms(await Deno.readTextFile(file))) {
      const name = spawn.literal ?? spawn.expression!;
      if (spawn.expression !== undefined && isComputedSpawn(path, name)) continue;
      found.set(name, [...(found.get(name) ?? []), path]);
    }
  }
  return found;
}

for (const suite of ["test", "bench"] as const) {
  Deno.test(`every program ${suite}/ spawns is listed for "${suite}" in test/prerequisites.tsv`, async () => {
    const listed = new Set(
      (await prerequisites()).filter((p) => p.suite === suite).map((p) => p.program),
    );
    const unlisted = [...(await spawnsIn(suite))].filter(([program]) => !listed.has(program))
      .map(([program, files]) => `${program} (${[...new Set(files)].join(", ")})`);
    assert.deepEqual(unlisted, [], "spawned but not in test/prerequisites.tsv");
  });
}

Deno.test("spawnedPrograms() reads literal program names and flags computed ones", () => {
  const source = `new Deno.Command("sipp", { args }); new Deno.Command(Deno.execPath(), {});
    new Deno.Command(\n  "tshark",\n {}); new Deno.Command(binary, {});`;
  assert.deepEqual(spawnedPrograms(source), [
    { literal: "sipp" },
    { expression: "Deno.execPath()" },
    { literal: "tshark" },
    { expression: "binary" },
  ]);
});

Deno.test("every listed program has a Debian package and a known suite", async () => {
  for (const p of await prerequisites()) {
    assert.match(p.package, /^[a-z0-9][a-z0-9+.-]+$/, `${p.program}: package`);
    assert.ok(["test", "bench"].includes(p.suite), `${p.program}: suite "${p.suite}"`);
  }
});
