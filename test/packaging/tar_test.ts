import assert from "node:assert/strict";
import { tar } from "../../packaging/tar.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes).replace(/\0.*$/s, "");

Deno.test("tar() writes ustar headers with octal fields and a valid checksum, data padded to 512", () => {
  const data = new TextEncoder().encode("hello\n");
  const archive = tar([{ name: "a.txt", mode: 0o644, data }, {
    name: "run",
    mode: 0o755,
    data: new Uint8Array(600),
  }]);
  // header + 1 block, header + 2 blocks, two zero blocks
  assert.equal(archive.length, 512 * (2 + 3 + 2));
  const header = archive.subarray(0, 512);
  assert.equal(text(header.subarray(0, 100)), "a.txt");
  assert.equal(text(header.subarray(100, 108)), "0000644");
  assert.equal(parseInt(text(header.subarray(124, 136)), 8), 6);
  assert.equal(text(header.subarray(257, 263)), "ustar");
  const stored = parseInt(text(header.subarray(148, 156)), 8);
  const sum = header.reduce((total, byte, i) => total + (i >= 148 && i < 156 ? 32 : byte), 0);
  assert.equal(stored, sum);
  assert.equal(text(archive.subarray(512, 518)), "hello\n");
  assert.equal(text(archive.subarray(1024, 1027)), "run");
  assert.ok(archive.subarray(512 * 5).every((b) => b === 0));
});

Deno.test("tar() gives the same bytes for the same entries", () => {
  const entries = [{ name: "x", mode: 0o600, data: new Uint8Array([1, 2, 3]) }];
  assert.deepEqual(tar(entries), tar(entries));
});

Deno.test("tar() refuses names with a directory or of 100 bytes and more", () => {
  for (const name of ["dir/file", "", "n".repeat(100)]) {
    assert.throws(() => tar([{ name, mode: 0o644, data: new Uint8Array() }]), RangeError, name);
  }
});
