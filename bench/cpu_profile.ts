/** Self time per function from a V8 `.cpuprofile` (what `deno run --cpu-prof` writes). */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  /** file:line relative to the repository, or the V8 pseudo-frame */
  where: string;
  ms: number;
  /** share of the busy (non-idle) time */
  percent: number;
}

/** Functions by self time, largest first; `(idle)` is left out of the total. */
export function selfTimes(profile: CpuProfile, root: string): SelfTime[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, { name: string; where: string; us: number }>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)?.callFrame;
    if (!frame || frame.functionName === "(idle)") return;
    // a sample's delta is the time since the previous one: close enough at 1 kHz
    const us = Math.max(0, profile.timeDeltas[i] ?? 0);
    busy += us;
    const url = frame.url.replace(/^file:\/\//, "").replace(root, "");
    const where = url
      ? `${url.replace(/^.*node_modules\/\.deno\//, "npm:")}:${frame.lineNumber + 1}`
      : "";
    const name = frame.functionName || "(anonymous)";
    const key = `${name} ${where}`;
    const entry = totals.get(key) ?? { name, where, us: 0 };
    entry.us += us;
    totals.set(key, entry);
  });
  return [...totals.values()]
    .sort((a, b) => b.us - a.us)
    .map((e) => ({ name: e.name, where: e.where, ms: e.us / 1000, percent: (100 * e.us) / busy }));
}

/** Reads the newest `.cpuprofile` in `dir`. */
export async function readNewestProfile(dir: string): Promise<CpuProfile> {
  const files: { path: string; mtime: number }[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".cpuprofile")) continue;
    const path = `${dir}/${entry.name}`;
    files.push({ path, mtime: (await Deno.stat(path)).mtime?.getTime() ?? 0 });
  }
  files.sort((a, b) => b.mtime - a.mtime);
  if (!files[0]) throw new Error(`no .cpuprofile in ${dir}`);
  return JSON.parse(await Deno.readTextFile(files[0].path));
}

/** Self time grouped into what it is spent on, largest first. */
export function byArea(times: readonly SelfTime[]): { area: string; percent: number }[] {
  const area = (t: SelfTime) => {
    if (t.name === "(garbage collector)") return "garbage collection";
    if (/^op_net_|^op_.*udp/.test(t.name) || t.where.includes("deno_net/")) return "Deno UDP I/O";
    if (t.where.includes("timers")) return "timers (setTimeout/clearTimeout)";
    if (t.where.startsWith("sbc/") || t.where.startsWith("rtp/")) {
      return "edgesbc code (sbc/, rtp/)";
    }
    if (t.where.startsWith("npm:")) return "npm dependencies";
    if (t.name === "(program)") return "V8 (program: compile, runtime)";
    return "other Deno runtime (ext:, ops)";
  };
  const sums = new Map<string, number>();
  for (const t of times) sums.set(area(t), (sums.get(area(t)) ?? 0) + t.percent);
  return [...sums].map(([a, percent]) => ({ area: a, percent })).sort((a, b) =>
    b.percent - a.percent
  );
}
