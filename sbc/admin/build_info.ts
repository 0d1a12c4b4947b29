/**
 * What this build is: edgesbc's version, the commit it was built from, and the Deno and V8 it runs
 * on. `deno task pack` stamps the commit into the bundle; running from source it is read from
 * `.git` (never by spawning git: the SBC has no --allow-run).
 */

/** edgesbc's version; the one place it is written. */
export const VERSION = "0.3.0";

/**
 * Placeholder for the commit: packaging/pack.ts replaces this literal (it appears once in the
 * bundle) with the commit. A commit never starts with "@", so an unstamped build can tell.
 */
export const COMMIT_STAMP = "@EDGESBC_COMMIT@";

export interface BuildInfo {
  readonly version: string;
  /** full hash, or "unknown" (no .git, or no read permission for it) */
  readonly commit: string;
  readonly deno: string;
  readonly v8: string;
}

let cached: BuildInfo | undefined;

/** This process's build; computed once. */
export function buildInfo(): BuildInfo {
  cached ??= {
    version: VERSION,
    commit: COMMIT_STAMP.startsWith("@")
      ? readGitCommit(new URL("../../", import.meta.url)) ?? "unknown"
      : COMMIT_STAMP,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
  };
  return cached;
}

/** What `edgesbc --version` prints. */
export function versionText(info: BuildInfo): string {
  const commit = info.commit === "unknown" ? info.commit : info.commit.slice(0, 12);
  return `edgesbc ${info.version} (commit ${commit})\ndeno ${info.deno}\nv8 ${info.v8}`;
}

/**
 * The commit HEAD names in the repository at `root`, read from the files git keeps: HEAD, the
 * loose ref it points at, or packed-refs. `.git` may be a file (`gitdir: …`, worktrees), whose
 * refs live in the `commondir`. Undefined when any of it cannot be read.
 */
export function readGitCommit(root: URL): string | undefined {
  const read = (path: string) => {
    // without read permission, say "unknown" rather than prompt on a terminal
    if (Deno.permissions.querySync({ name: "read", path }).state !== "granted") return undefined;
    try {
      return Deno.readTextFileSync(path);
    } catch {
      return undefined;
    }
  };
  const dotGit = new URL(".git", root).pathname;
  let gitDir = `${dotGit}/`;
  const pointer = /^gitdir: (.+)$/m.exec(read(dotGit) ?? "")?.[1]?.trim();
  if (pointer) gitDir = new URL(`${pointer}/`, root).pathname;
  const head = read(`${gitDir}HEAD`)?.trim();
  if (head === undefined) return undefined;
  if (isCommit(head)) return head;
  const ref = /^ref: (\S+)$/.exec(head)?.[1];
  if (ref === undefined) return undefined;
  const common = read(`${gitDir}commondir`)?.trim();
  const refsDir = common ? new URL(`${common}/`, new URL(gitDir, root)).pathname : gitDir;
  const loose = read(`${refsDir}${ref}`)?.trim();
  if (loose !== undefined && isCommit(loose)) return loose;
  for (const line of (read(`${refsDir}packed-refs`) ?? "").split("\n")) {
    const [hash, name] = line.trim().split(" ");
    if (name === ref && hash !== undefined && isCommit(hash)) return hash;
  }
  return undefined;
}

function isCommit(text: string): boolean {
  return /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(text);
}
