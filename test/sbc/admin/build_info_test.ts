import assert from "node:assert/strict";
import { readGitCommit, versionText } from "../../../sbc/admin/build_info.ts";

const A = "0123456789abcdef0123456789abcdef01234567";
const B = "fedcba9876543210fedcba9876543210fedcba98";

/** A fake repository: `files` relative to its root, written before `fn` runs. */
async function withRepo(
  files: Record<string, string>,
  fn: (root: URL) => void,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "edgesbc-git-" });
  try {
    for (const [name, text] of Object.entries(files)) {
      const path = `${dir}/${name}`;
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      await Deno.writeTextFile(path, text);
    }
    fn(new URL(`file://${dir}/repo/`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("readGitCommit() follows HEAD to a loose ref", async () => {
  await withRepo({
    "repo/.git/HEAD": "ref: refs/heads/main\n",
    "repo/.git/refs/heads/main": `${A}\n`,
    "repo/.git/packed-refs": `${B} refs/heads/main\n`,
  }, (root) => assert.equal(readGitCommit(root), A));
});

Deno.test("readGitCommit() finds a ref only in packed-refs", async () => {
  await withRepo({
    "repo/.git/HEAD": "ref: refs/heads/main\n",
    "repo/.git/packed-refs": `# pack-refs with: peeled fully-peeled sorted\n${B} refs/heads/dev\n` +
      `${A} refs/heads/main\n^${B}\n`,
  }, (root) => assert.equal(readGitCommit(root), A));
});

Deno.test("readGitCommit() reads a detached HEAD", async () => {
  await withRepo({ "repo/.git/HEAD": `${B}\n` }, (root) => assert.equal(readGitCommit(root), B));
});

Deno.test("readGitCommit() follows a .git file to a worktree and its common refs", async () => {
  await withRepo({
    "repo/.git": "gitdir: ../main/.git/worktrees/repo\n",
    "main/.git/worktrees/repo/HEAD": "ref: refs/heads/feature\n",
    "main/.git/worktrees/repo/commondir": "../..\n",
    "main/.git/refs/heads/feature": `${B}\n`,
  }, (root) => assert.equal(readGitCommit(root), B));
});

Deno.test("readGitCommit() is undefined without a repository or with a dangling ref", async () => {
  await withRepo({ "repo/README.md": "" }, (root) => assert.equal(readGitCommit(root), undefined));
  await withRepo(
    { "repo/.git/HEAD": "ref: refs/heads/gone\n" },
    (root) => assert.equal(readGitCommit(root), undefined),
  );
});

Deno.test("versionText() names edgesbc with a short commit, then Deno and V8", () => {
  const info = { version: "1.2.3", commit: A, deno: "2.9.6", v8: "15.0" };
  assert.equal(versionText(info), "edgesbc 1.2.3 (commit 0123456789ab)\ndeno 2.9.6\nv8 15.0");
  assert.match(versionText({ ...info, commit: "unknown" }), /^edgesbc 1\.2\.3 \(commit unknown\)/);
});
