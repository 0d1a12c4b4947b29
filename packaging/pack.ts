/**
 * `deno task pack [--output FILE]`: writes dist/edgesbc, one executable for Linux x86-64 that needs
 * no deno, node or npm on the host and no network. It is packaging/launcher.sh followed by a gzip'd
 * tar of the Deno runtime running this script (npm's `deno` package when run through npx),
 * `deno bundle main.ts` with the npm packages inlined and the commit stamped in, and their
 * SHA256SUMS. Everything comes from this machine (the first `deno bundle` fetches its esbuild
 * from npm into Deno's cache). The same inputs give the same bytes. docs/install.md says how to deploy the result.
 */
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { buildInfo, COMMIT_STAMP, readGitCommit, versionText } from "../sbc/admin/build_info.ts";
import { tar } from "./tar.ts";

const ROOT = new URL("../", import.meta.url);

/**
 * What the packed SBC may do: bind and reach any address (the config names them), read its
 * config, routing script and /etc/hosts, and call libc for the RTP sockets (rtp/packet/ffi_socket.ts).
 * No write, no run, no sys. The environment variables are the `EDGESBC_*` names the bundle reads.
 */
const PERMISSIONS = ["--allow-net", "--allow-read", "--allow-ffi"] as const;

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { output: { type: "string", short: "o" } } });
  const output = values.output ?? new URL("dist/edgesbc", ROOT).pathname;
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") {
    console.error(`pack: the packed file runs on Linux x86-64; this Deno is ${Deno.build.target}`);
    return 1;
  }
  const commit = readGitCommit(ROOT) ?? "unknown";
  const bundle = stampCommit(await bundleMain(), commit);
  const runtime = await Deno.readFile(Deno.execPath());
  const env = [...new Set(Array.from(bundle.matchAll(/"(EDGESBC_[A-Z0-9_]+)"/g), (m) => m[1]!))]
    .sort();
  const permissions = [...PERMISSIONS, `--allow-env=${env.join(",")}`];

  const files = [
    { name: "deno", mode: 0o755, data: runtime },
    { name: "edgesbc.js", mode: 0o644, data: new TextEncoder().encode(bundle) },
  ];
  const sums = await Promise.all(files.map(async (f) => `${await sha256(f.data)}  ${f.name}\n`));
  files.push({ name: "SHA256SUMS", mode: 0o644, data: new TextEncoder().encode(sums.join("")) });
  const payload = await gzip(tar(files));
  const payloadSha256 = await sha256(payload);

  const info = { ...buildInfo(), commit };
  const template = await Deno.readTextFile(new URL("packaging/launcher.sh", ROOT));
  const launcher = fillLauncher(template, {
    VERSION: info.version,
    COMMIT: commit.slice(0, 12),
    DENO: info.deno,
    PAYLOAD_SHA256: payloadSha256,
    PERMISSIONS: permissions.join(" "),
  });

  // written beside the target and renamed: a reader never sees half a file
  const partial = `${output}.partial`;
  await Deno.mkdir(dirname(partial), { recursive: true });
  const file = await Deno.open(partial, { write: true, create: true, truncate: true, mode: 0o755 });
  try {
    await file.write(launcher); // under 4 KiB: one write
    for (let at = 0; at < payload.length;) at += await file.write(payload.subarray(at));
  } finally {
    file.close();
  }
  await Deno.chmod(partial, 0o755);
  await Deno.rename(partial, output);

  const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
  console.log(
    `${output}: ${mb(launcher.length + payload.length)} (Deno runtime ${mb(runtime.length)}, ` +
      `bundle ${mb(files[1]!.data.length)}), payload sha256 ${payloadSha256}\n` +
      `permissions: ${permissions.join(" ")}\n${versionText(info)}`,
  );
  return 0;
}

/** `deno bundle main.ts`: one ES module, npm packages inlined, node: built-ins left as imports. */
async function bundleMain(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "edgesbc-pack-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--platform", "deno", "--output", `${dir}/edgesbc.js`, "main.ts"],
      cwd: ROOT,
      stdin: "null",
    }).output();
    if (!out.success) throw new Error(`Cannot bundle main.ts: deno bundle exited ${out.code}`);
    return await Deno.readTextFile(`${dir}/edgesbc.js`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Replaces sbc/admin/build_info.ts's placeholder, which must appear exactly once in the bundle. */
function stampCommit(bundle: string, commit: string): string {
  const literal = JSON.stringify(COMMIT_STAMP);
  const count = bundle.split(literal).length - 1;
  if (count !== 1) {
    throw new Error(
      `Cannot stamp the commit: the bundle holds ${literal} ${count} times, not once`,
    );
  }
  return bundle.replace(literal, JSON.stringify(commit));
}

/**
 * The launcher with every `@NAME@` filled in. `@PAYLOAD_OFFSET@` is where the payload starts
 * (1-based, for `tail -c +N`): the launcher's own length plus one, found by filling it until the
 * number of digits stops changing the length.
 */
function fillLauncher(template: string, values: Record<string, string>): Uint8Array {
  const text = template.replace(/@([A-Z0-9_]+)@/g, (whole, name: string) => values[name] ?? whole);
  const unfilled = /@(?!PAYLOAD_OFFSET@)[A-Z0-9_]+@/.exec(text);
  if (unfilled) throw new Error(`Cannot fill packaging/launcher.sh: ${unfilled[0]} has no value`);
  const encode = (offset: number) =>
    new TextEncoder().encode(text.replace("@PAYLOAD_OFFSET@", String(offset)));
  let offset = 0;
  let bytes = encode(offset);
  while (bytes.length + 1 !== offset) {
    offset = bytes.length + 1;
    bytes = encode(offset);
  }
  return bytes;
}

async function gzip(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([data]).stream().pipeThrough(new CompressionStream("gzip"));
  return await new Response(stream).bytes();
}

async function sha256(data: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
