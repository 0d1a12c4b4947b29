// The packed file (`deno task pack`: one self-extracting executable) run the way an operator runs
// it: copied into an empty directory of a host whose PATH holds no deno, node or npm, only the
// few POSIX tools the launcher uses. Packing is slow, so one artifact serves every test here.
// Port blocks 40–41.
import assert from "node:assert/strict";
import { type MainResult, runMain } from "../kit/run_main.ts";
import {
  ADDRESS,
  assertAllCallsSucceeded,
  echoedAudioCall,
  headerValues,
  KEEP_FILES,
  received,
  REPO_ROOT,
  runSipp,
  sbcConfig,
  type SbcLaunch,
  startSippServer,
  usingPorts,
  withSbc,
} from "../e2e/_harness.ts";
import { waitForMediaStats } from "../e2e/_media.ts";
import {
  backupPbx,
  failoverConfig,
  failoverScript,
  scriptConfig,
  withSbcPbxStandIn,
} from "../e2e/_script.ts";

const SEED_CFG = `${REPO_ROOT}test/fixtures/kamailio/seed-bridge.kamailio.cfg`;
const SEED_RTPPROXY = `${REPO_ROOT}test/fixtures/kamailio/seed-bridge.rtpproxy.args`;

/**
 * Everything the launcher runs from PATH on first start (it is a `#!/bin/sh` script): coreutils,
 * findutils, tar and the gzip tar calls. All are in Debian's essential set.
 */
const HOST_TOOLS = [
  "tail",
  "sha256sum",
  "mkdir",
  "mktemp",
  "find",
  "rm",
  "mv",
  "id",
  "tar",
  "gzip",
];

// ---------------------------------------------------------------- the artifact

interface Packed {
  path: string;
  /** the payload hash the cache directory is named after */
  sha256: string;
  /** what `--version` must print */
  versionText: string;
  version: string;
  commit: string;
  deno: string;
}

const BUILD_DIR = Deno.makeTempDirSync({ prefix: "edgesbc-pack-" });
globalThis.addEventListener("unload", () => {
  if (!KEEP_FILES) Deno.removeSync(BUILD_DIR, { recursive: true });
});
let packing: Promise<Packed> | undefined;

/** `deno task pack --output <tmp>/edgesbc`, once per test file. */
function packed(): Promise<Packed> {
  packing ??= (async () => {
    const path = `${BUILD_DIR}/edgesbc`;
    const out = await output(Deno.execPath(), ["task", "--quiet", "pack", "--output", path], {
      cwd: REPO_ROOT,
      timeoutMs: 180_000,
    });
    assert.equal(out.code, 0, `deno task pack failed:\n${out.stdout}${out.stderr}`);
    const sha256 = /payload sha256 ([0-9a-f]{64})/.exec(out.stdout)?.[1];
    assert.ok(sha256, `no payload hash in:\n${out.stdout}`);
    const versionText = out.stdout.slice(out.stdout.indexOf("edgesbc ")).trimEnd();
    const match = /^edgesbc (\S+) \(commit ([0-9a-f]{12}|unknown)\)\ndeno (\S+)\nv8 \S+$/.exec(
      versionText,
    );
    assert.ok(match, `no version text in:\n${out.stdout}`);
    const [, version = "", commit = "", deno = ""] = match;
    return { path, sha256, versionText, version, commit, deno };
  })();
  return packing;
}

// ---------------------------------------------------------------- a host with nothing installed

interface Host extends AsyncDisposable {
  dir: string;
  exe: string;
  env: Record<string, string>;
  launch: SbcLaunch;
}

/** An empty directory holding a copy of the packed file; PATH holds only HOST_TOOLS. */
async function newHost(
  name: string,
  options: { env?: Record<string, string>; home?: boolean; bytes?: Uint8Array } = {},
): Promise<Host> {
  const build = await packed();
  const dir = await Deno.makeTempDir({ prefix: `edgesbc-host-${name}-` });
  const exe = `${dir}/edgesbc`;
  if (options.bytes) await Deno.writeFile(exe, options.bytes);
  else await Deno.copyFile(build.path, exe);
  await Deno.chmod(exe, 0o755);
  await Deno.mkdir(`${dir}/bin`);
  for (const tool of HOST_TOOLS) {
    const found = [`/usr/bin/${tool}`, `/bin/${tool}`].find(isFile);
    assert.ok(found, `${tool} is not installed`);
    await Deno.symlink(found, `${dir}/bin/${tool}`);
  }
  const env: Record<string, string> = { PATH: `${dir}/bin`, ...options.env };
  if (options.home !== false) {
    env.HOME = `${dir}/home`;
    await Deno.mkdir(env.HOME);
  }
  for (const pathDir of env.PATH!.split(":")) {
    for (const program of ["deno", "node", "npm", "npx"]) {
      assert.ok(!isFile(`${pathDir}/${program}`), `${program} is on the host's PATH`);
    }
  }
  return {
    dir,
    exe,
    env,
    launch: { program: exe, cwd: dir, env },
    [Symbol.asyncDispose]: async () => {
      if (!KEEP_FILES) await Deno.remove(dir, { recursive: true });
    },
  };
}

interface RunResult extends MainResult {
  ms: number;
}

/** Runs the host's packed file to completion (bounded), with only the host's environment. */
function runPacked(host: Host, args: string[], timeoutMs = 60_000): Promise<RunResult> {
  return output(host.exe, args, { cwd: host.dir, env: host.env, timeoutMs });
}

async function output(
  program: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string>; timeoutMs: number },
): Promise<RunResult> {
  const started = performance.now();
  const out = await new Deno.Command(program, {
    args,
    cwd: options.cwd,
    ...(options.env && { env: options.env, clearEnv: true }),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(options.timeoutMs),
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return {
    code: out.code,
    stdout: text(out.stdout),
    stderr: text(out.stderr),
    ms: performance.now() - started,
  };
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Entry names of a directory, sorted; [] when it does not exist. */
async function list(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names.sort();
}

const UNPACKED = ["SHA256SUMS", "deno", "deno-dir", "edgesbc.js"];

const result = (r: MainResult) => ({ code: r.code, stdout: r.stdout, stderr: r.stderr });

// ---------------------------------------------------------------- tests

Deno.test("the packed file runs --version, check, import, a call with RTP and ctl on a host without deno, node or npm", async () => {
  const ports = usingPorts(40);
  const build = await packed();
  await using host = await newHost("call");

  const first = await runPacked(host, ["--version"]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout.trimEnd(), build.versionText);
  // unpacked once into the per-user cache, in a directory named by the payload hash
  const cache = `${host.dir}/home/.cache/edgesbc`;
  assert.deepEqual(await list(cache), [build.sha256]);
  const unpacked = `${cache}/${build.sha256}`;
  assert.deepEqual(await list(unpacked), UNPACKED);
  const runtime = await Deno.stat(`${unpacked}/deno`);

  // later runs start from the cache: nothing unpacked again, well under a second
  const later: number[] = [];
  for (let i = 0; i < 3; i++) {
    const again = await runPacked(host, ["--version"]);
    assert.deepEqual(result(again), result(first));
    later.push(again.ms);
  }
  assert.equal((await Deno.stat(`${unpacked}/deno`)).ino, runtime.ino);
  assert.deepEqual(await list(cache), [build.sha256]);
  const fastest = Math.min(...later);
  assert.ok(fastest < 1000, `later runs took ${later.map(Math.round)} ms (first ${first.ms} ms)`);

  // check and import print exactly what main.ts prints
  const config = `${host.dir}/edgesbc.toml`;
  await Deno.writeTextFile(config, sbcConfig(ports));
  const rtpproxy = (await Deno.readTextFile(SEED_RTPPROXY)).trim();
  for (
    const args of [
      ["check", "-c", config],
      ["import", "--kamailio", SEED_CFG, "--rtpproxy", rtpproxy],
      ["check"],
    ]
  ) {
    assert.deepEqual(result(await runPacked(host, args)), result(await runMain(args)), args[0]);
  }

  // a call with RTP both ways through the packed SBC
  await withSbc({ ports, launch: host.launch }, async (sbc) => {
    await echoedAudioCall(ports);
    const media = await waitForMediaStats(
      ports,
      (m) => m.sessions === 0 && m.portsInUse === 0,
      "ports free after the BYE",
    );
    // sipp's capture holds 236 RTP packets; the PBX echoes each one back through the relay
    assert.ok(media.packetsRelayed >= 2 * 230, JSON.stringify(media));

    const logs = await sbc.logs();
    // the permissions the launcher grants are enough for the libc (FFI) RTP sockets
    assert.match(logs, /rtp\.backend\W+ffi\b/);
    assert.match(
      logs,
      new RegExp(`edgesbc\\W+${build.version.replaceAll(".", "\\.")}\\W.*listening`),
    );

    // ctl from the packed file, and the build as the admin API reports it
    const ctl = await runPacked(host, [
      "ctl",
      "stats",
      "--admin",
      `${ADDRESS.admin}:${ports.admin}`,
    ]);
    assert.equal(ctl.code, 0, ctl.stderr);
    const stats = JSON.parse(ctl.stdout) as { build?: Record<string, string> };
    assert.equal(stats.build?.version, build.version);
    assert.equal(stats.build?.commit?.slice(0, 12), build.commit);
    assert.equal(stats.build?.deno, build.deno);
    const metrics = await (await fetch(`http://${ADDRESS.admin}:${ports.admin}/metrics`)).text();
    const info = /^edgesbc_build_info\{version="([^"]*)",commit="([^"]*)",deno="([^"]*)"\} 1$/m
      .exec(metrics);
    assert.ok(info, metrics);
    assert.deepEqual([info[1], info[2]?.slice(0, 12), info[3]], [
      build.version,
      build.commit,
      build.deno,
    ]);
  });
});

Deno.test("the packed file loads examples/failover.ts and tries the backup PBX when the first answers 503", async () => {
  const ports = usingPorts(41);
  await using host = await newHost("failover");
  const backup = backupPbx(ports);
  const script = await failoverScript(ports, host.dir);
  const configToml = failoverConfig(ports, script);
  const config = `${host.dir}/edgesbc.toml`;
  await Deno.writeTextFile(config, configToml);
  const checked = await runPacked(host, ["check", "-c", config]);
  assert.equal(checked.code, 0, checked.stderr);
  assert.match(checked.stdout, /\[routing\]\nscript = ".*failover\.ts"/);

  await withSbcPbxStandIn({ ports, configToml, launch: host.launch }, async (sbc) => {
    await using first = await startSippServer({
      scenario: "uas-reject-503.xml",
      role: "pbx",
      ports,
      calls: 1,
    });
    await using second = await startSippServer({
      ...backup,
      scenario: "uas-answer-leaks-internal-headers.xml",
      calls: 1,
    });
    const phone = await runSipp({
      scenario: "uac-call-honours-route-set.xml",
      role: "phone",
      ports,
      remote: `${ADDRESS.external}:${ports.sbc}`,
      calls: 1,
    });
    const answered = await second.wait(10_000);
    assertAllCallsSucceeded(1, { phone, "backup PBX": answered });
    assertAllCallsSucceeded(1, { "first PBX": await first.wait(5_000) });
    const [invite] = received(answered, "INVITE");
    assert.ok(invite);
    assert.match(headerValues(invite.text, "Via")[0] ?? "", /^SIP\/2\.0\/UDP 127\.0\.2\.1:/i);
    assert.match(await sbc.logs(), /PBX failed with 503, trying sip:127\.0\.2\.11:/);
  });
});

Deno.test("the packed SBC may not write files or run programs (no -A)", async () => {
  await using host = await newHost("sandbox");
  const script = `${host.dir}/escape.ts`;
  await Deno.writeTextFile(
    script,
    `const denied: string[] = [];
const program = "id";
for (const attempt of [
  () => Deno.writeTextFileSync(${JSON.stringify(`${host.dir}/written`)}, "x"),
  () => new Deno.Command(program).outputSync(),
]) {
  try {
    attempt();
    denied.push("allowed");
  } catch (error) {
    denied.push((error as Error).name);
  }
}
throw new Error("attempts: " + denied.join(" "));
export function ksr_request_route() {}
`,
  );
  const config = `${host.dir}/edgesbc.toml`;
  await Deno.writeTextFile(config, scriptConfig(usingPorts(40), script));
  const checked = await runPacked(host, ["check", "-c", config]);
  assert.equal(checked.code, 2, checked.stdout);
  assert.match(checked.stderr, /attempts: NotCapable NotCapable/);
  assert.ok(!isFile(`${host.dir}/written`));
});

Deno.test("the packed file unpacks once under concurrent first runs, sets leftovers aside and honours EDGESBC_CACHE_DIR", async () => {
  const build = await packed();
  const cacheDir = Deno.makeTempDirSync({ prefix: "edgesbc-cache-" });
  try {
    await using host = await newHost("concurrent", {
      env: { EDGESBC_CACHE_DIR: cacheDir },
      home: false,
    });
    // a temp dir a killed first run left behind, and a hash dir someone half copied
    await Deno.mkdir(`${cacheDir}/.unpack-stale`);
    await Deno.writeTextFile(`${cacheDir}/.unpack-stale/deno`, "#!/bin/sh\necho stale\n");
    const old = new Date(Date.now() - 2 * 3600_000);
    await Deno.utime(`${cacheDir}/.unpack-stale`, old, old);
    await Deno.mkdir(`${cacheDir}/${build.sha256}`);
    await Deno.writeTextFile(`${cacheDir}/${build.sha256}/edgesbc.js`, "half");

    const runs = await Promise.all([1, 2, 3].map(() => runPacked(host, ["--version"])));
    for (const run of runs) assert.deepEqual(result(run), result(runs[0]!));
    assert.equal(runs[0]!.code, 0, runs[0]!.stderr);
    assert.equal(runs[0]!.stdout.trimEnd(), build.versionText);
    assert.deepEqual(await list(cacheDir), [build.sha256]);
    assert.deepEqual(await list(`${cacheDir}/${build.sha256}`), UNPACKED);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("a damaged or truncated copy of the packed file refuses to run and leaves no cache behind", async () => {
  const bytes = await Deno.readFile((await packed()).path);
  const damaged = bytes.slice();
  damaged[damaged.length - 1000] = damaged[damaged.length - 1000]! ^ 0xff;
  const truncated = bytes.slice(0, Math.floor(bytes.length / 2));
  for (const [name, copy] of [["damaged", damaged], ["truncated", truncated]] as const) {
    await using host = await newHost(name, { bytes: copy });
    const run = await runPacked(host, ["--version"]);
    assert.equal(run.code, 1, `${name}: ${run.stdout}`);
    assert.match(run.stderr, /edgesbc: .* is damaged/, name);
    assert.deepEqual(await list(`${host.dir}/home/.cache/edgesbc`), [], name);
  }
});

Deno.test("without HOME the packed file unpacks under TMPDIR, per user", async () => {
  const build = await packed();
  const tmp = Deno.makeTempDirSync({ prefix: "edgesbc-tmpdir-" });
  try {
    await using host = await newHost("no-home", { env: { TMPDIR: tmp }, home: false });
    const run = await runPacked(host, ["--version"]);
    assert.equal(run.code, 0, run.stderr);
    const uid = Deno.uid();
    assert.deepEqual(await list(tmp), [`edgesbc-${uid}`]);
    assert.deepEqual(await list(`${tmp}/edgesbc-${uid}`), [build.sha256]);
    assert.equal((await Deno.stat(`${tmp}/edgesbc-${uid}`)).mode! & 0o077, 0);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
