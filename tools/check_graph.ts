/**
 * `deno task check:graph`: the import rules the layout promises, checked on the module graph Deno
 * itself resolves (`deno info --json`), so a type-only import counts as much as a value import.
 *
 * - Layers point one way: config/ ← rtp/ ← sbc/ ← main.ts, and inside sbc/ the protocol layers
 *   message ← transport ← transaction ← proxy ← script | admin ← the wiring files at sbc/'s top.
 *   A module imports its own folder or a lower layer; folders on one layer do not import each other.
 * - No import circles, among files or among folders.
 *
 * Prints one line per broken rule and exits 1; prints the layer sizes and exits 0 when all hold.
 */

/** Lowest first; each entry is one layer, a layer may hold several folders side by side. */
export const LAYERS: readonly (readonly string[])[] = [
  ["config/"],
  ["config/kamailio/"],
  ["rtp/srtp/"],
  ["rtp/packet/"],
  ["rtp/"],
  ["sbc/message/"],
  ["sbc/transport/"],
  ["sbc/transaction/"],
  ["sbc/proxy/"],
  ["sbc/script/", "sbc/admin/"],
  ["sbc/"],
  ["main.ts"],
];

/** The folder (or main.ts) a repository path belongs to: the longest matching LAYERS entry. */
export function folderOf(path: string): string | undefined {
  let best: string | undefined;
  for (const folder of LAYERS.flat()) {
    const inside = folder.endsWith("/")
      ? path.startsWith(folder) && !path.slice(folder.length).includes("/")
      : path === folder;
    if (inside && (best === undefined || folder.length > best.length)) best = folder;
  }
  return best;
}

const layerOf = (folder: string) => LAYERS.findIndex((layer) => layer.includes(folder));

/** An import from one repository file to another. */
export interface Edge {
  readonly from: string;
  readonly to: string;
}

/** Every rule an edge breaks, as one line each. */
export function layerViolations(edges: readonly Edge[]): string[] {
  const problems: string[] = [];
  for (const { from, to } of edges) {
    const a = folderOf(from);
    const b = folderOf(to);
    if (a === undefined || b === undefined) {
      problems.push(`${from} → ${to}: ${a === undefined ? from : to} is in no layer`);
      continue;
    }
    if (a === b) continue;
    const [la, lb] = [layerOf(a), layerOf(b)];
    if (lb > la) problems.push(`${from} → ${to}: ${a} may not import the higher layer ${b}`);
    else if (lb === la) problems.push(`${from} → ${to}: ${a} and ${b} are side by side`);
  }
  return problems;
}

/** Circles in a directed graph, each as the list of nodes around it (Tarjan's components). */
export function cycles(nodes: Iterable<string>, edges: readonly Edge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) next.set(from, [...(next.get(from) ?? []), to]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let counter = 0;
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (next.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of nodes) if (!index.has(v)) visit(v);
  return found;
}

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
}

/** The import edges between the repository's own production modules (config/, rtp/, sbc/, main.ts). */
async function productionGraph(root: URL): Promise<{ files: string[]; edges: Edge[] }> {
  const files = ["main.ts"];
  for (const dir of ["config", "rtp", "sbc"]) {
    files.push(...await tsFiles(new URL(`${dir}/`, root)));
  }
  const rel = (specifier: string) => specifier.slice(root.href.length);
  // One root that imports every file, so files main.ts does not reach are checked too.
  const dir = await Deno.makeTempDir({ prefix: "edgesbc-graph-" });
  try {
    const entry = `${dir}/all.ts`;
    await Deno.writeTextFile(
      entry,
      files.map((f) => `import ${JSON.stringify(new URL(f, root).href)};\n`).join(""),
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--config", new URL("deno.json", root).pathname, entry],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: InfoModule[] };
    const edges: Edge[] = [];
    for (const module of info.modules) {
      if (!module.specifier.startsWith(root.href)) continue;
      for (const dep of module.dependencies ?? []) {
        for (const target of new Set([dep.code?.specifier, dep.type?.specifier])) {
          if (target?.startsWith(root.href)) {
            edges.push({ from: rel(module.specifier), to: rel(target) });
          }
        }
      }
    }
    return { files, edges };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function tsFiles(dir: URL, prefix = dir.pathname.split("/").at(-2) + "/"): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) {
      found.push(...await tsFiles(new URL(`${entry.name}/`, dir), `${prefix}${entry.name}/`));
    } else if (entry.name.endsWith(".ts")) found.push(`${prefix}${entry.name}`);
  }
  return found.sort();
}

if (import.meta.main) {
  const root = new URL("../", import.meta.url);
  const { files, edges } = await productionGraph(root);
  const folderEdges = edges.map((e) => ({
    from: folderOf(e.from) ?? e.from,
    to: folderOf(e.to) ?? e.to,
  }))
    .filter((e) => e.from !== e.to);
  const problems = [
    ...layerViolations(edges),
    ...cycles(files, edges).map((c) => `import circle between files: ${c.join(" ↔ ")}`),
    ...cycles(LAYERS.flat(), folderEdges).map((c) =>
      `import circle between folders: ${c.join(" ↔ ")}`
    ),
  ];
  for (const problem of problems) console.error(`check:graph: ${problem}`);
  if (problems.length > 0) Deno.exit(1);
  console.log(
    `check:graph: ${files.length} modules, ${edges.length} imports; layers hold, no circles`,
  );
}
