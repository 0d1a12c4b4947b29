// The README's start command, `npx --yes deno@VERSION task start`, stops on SIGTERM and leaves no
// socket bound: npx runs deno through a shell, and a shell that only forks would die alone and
// orphan the SBC (.npmrc makes npm's shell exec instead). Port block 49.
import assert from "node:assert/strict";
import {
  ADDRESS,
  REPO_ROOT,
  sbcConfig,
  timer,
  usingPorts,
  waitForOptionsReply,
} from "./_harness.ts";

/** Pids of processes whose command line mentions `text` (to clean up after a failed stop). */
async function pidsMentioning(text: string): Promise<number[]> {
  const pids: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`).catch(() => "");
    if (cmdline.includes(text)) pids.push(Number(entry.name));
  }
  return pids;
}

Deno.test("SIGTERM to the README's start command stops the SBC and frees its ports; its log is on stderr", async () => {
  const ports = usingPorts(49);
  const dir = await Deno.makeTempDir({ prefix: "edgesbc-e2e-start-" });
  const config = `${dir}/config.toml`;
  await Deno.writeTextFile(config, sbcConfig(ports));
  const child = new Deno.Command("npx", {
    args: ["--yes", `deno@${Deno.version.deno}`, "task", "start", "-c", config],
    cwd: REPO_ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = new Response(child.stdout).text();
  const stderr = new Response(child.stderr).text();
  try {
    await waitForOptionsReply(ADDRESS.external, ports.sbc, {
      timeoutMs: 60_000,
      exited: child.status,
    });
    child.kill("SIGTERM");
    const deadline = timer(15_000, false);
    const exited = await Promise.race([child.status.then(() => true), deadline.promise]);
    deadline.clear();
    assert.ok(exited, "npx still running 15 s after SIGTERM");
    // Every socket of the config binds again: nothing is left holding one.
    const sockets: (Deno.DatagramConn | Deno.Listener)[] = [];
    try {
      for (const host of [ADDRESS.external, ADDRESS.internal]) {
        sockets.push(Deno.listenDatagram({ transport: "udp", hostname: host, port: ports.sbc }));
        sockets.push(Deno.listen({ transport: "tcp", hostname: host, port: ports.sbc }));
      }
      sockets.push(Deno.listen({ transport: "tcp", hostname: ADDRESS.admin, port: ports.admin }));
    } finally {
      for (const s of sockets) s.close();
    }
    assert.deepEqual(await pidsMentioning(config), [], "processes left running");
    const err = await stderr;
    assert.equal(await stdout, "", err);
    assert.match(err, / INFO +edgesbc: .*listening/);
    assert.match(err, / INFO +edgesbc: edgesbc stopping/);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await child.status;
    // An SBC orphaned by a shell that died alone would hold the ports for the next test.
    for (const pid of await pidsMentioning(config)) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
    await Promise.allSettled([stdout, stderr]);
    await Deno.remove(dir, { recursive: true });
  }
});
