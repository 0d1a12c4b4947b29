/**
 * `deno task bench`: runs each bench script that exists as its own process, SIP first, so one
 * bench's sockets and CPU load never overlap another's, and a missing one is simply skipped.
 */

const BENCHES = ["sip_bench.ts", "rtp_bench.ts"];

let failed = 0;
for (const name of BENCHES) {
  const path = new URL(`./${name}`, import.meta.url).pathname;
  const exists = await Deno.stat(path).then(() => true, () => false);
  if (!exists) {
    console.error(`bench: ${name} not present, skipped`);
    continue;
  }
  console.error(`bench: running ${name}`);
  const status = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", path],
    stdin: "null",
  }).spawn().status;
  if (!status.success) {
    console.error(`bench: ${name} failed (exit ${status.code})`);
    failed++;
  }
}
Deno.exit(failed ? 1 : 0);
