/** CPU time of a process and its descendants, from /proc (Linux only). */

let ticksPerSecond: number | undefined;

async function clockTicks(): Promise<number> {
  if (ticksPerSecond === undefined) {
    const out = await new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped" }).output();
    ticksPerSecond = Number(new TextDecoder().decode(out.stdout).trim()) || 100;
  }
  return ticksPerSecond;
}

/** [ppid, utime + stime in ticks] from /proc/PID/stat, or undefined once it is gone. */
function readStat(pid: number): [number, number] | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  // the command name may hold spaces and parentheses: fields start after the last ")"
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return [Number(fields[1]), Number(fields[11]) + Number(fields[12])];
}

/**
 * User + system CPU milliseconds of `pid` and every descendant (Kamailio forks its workers;
 * Deno's threads are already inside its own line).
 */
export async function treeCpuMs(pid: number): Promise<number> {
  const stats = new Map<number, [number, number]>();
  for (const entry of Deno.readDirSync("/proc")) {
    const n = Number(entry.name);
    if (!Number.isInteger(n)) continue;
    const stat = readStat(n);
    if (stat) stats.set(n, stat);
  }
  const inTree = (p: number) => {
    for (let cur = p, hops = 0; cur > 1 && hops < 16; hops++) {
      if (cur === pid) return true;
      cur = stats.get(cur)?.[0] ?? 0;
    }
    return false;
  };
  let ticks = 0;
  for (const [p, [, t]] of stats) if (inTree(p)) ticks += t;
  return ticks * 1000 / await clockTicks();
}

/** Busy milliseconds of one CPU since boot (all but idle and iowait), from /proc/stat. */
export async function cpuBusyMs(cpu: number): Promise<number> {
  const line = (await Deno.readTextFile("/proc/stat")).split("\n")
    .find((l) => l.startsWith(`cpu${cpu} `));
  if (!line) return NaN;
  const [user, nice, system, _idle, _iowait, irq, softirq, steal] = line.split(/\s+/).slice(1)
    .map(Number);
  const ticks = user! + nice! + system! + irq! + softirq! + steal!;
  return ticks * 1000 / await clockTicks();
}
