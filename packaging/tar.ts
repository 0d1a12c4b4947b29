/**
 * A minimal POSIX ustar writer for the packed file's payload: regular files only, owned by uid 0,
 * mtime 0, in the order given, so the same inputs always give the same bytes (and the same hash,
 * which names the cache directory the launcher unpacks into). GNU and busybox tar read it.
 */

export interface TarEntry {
  /** a plain relative name under 100 bytes */
  readonly name: string;
  readonly mode: number;
  readonly data: Uint8Array;
}

const BLOCK = 512;

/** The archive: one header block per entry, its data padded to 512 bytes, two zero blocks. */
export function tar(entries: readonly TarEntry[]): Uint8Array<ArrayBuffer> {
  const size = entries.reduce((sum, e) => sum + BLOCK + padded(e.data.length), 2 * BLOCK);
  const out = new Uint8Array(size);
  let at = 0;
  for (const entry of entries) {
    out.set(header(entry), at);
    out.set(entry.data, at + BLOCK);
    at += BLOCK + padded(entry.data.length);
  }
  return out;
}

function padded(length: number): number {
  return Math.ceil(length / BLOCK) * BLOCK;
}

function header(entry: TarEntry): Uint8Array {
  const name = new TextEncoder().encode(entry.name);
  if (name.length === 0 || name.length >= 100 || entry.name.includes("/")) {
    throw new RangeError(`Cannot archive "${entry.name}": a tar name here is a plain file name`);
  }
  const block = new Uint8Array(BLOCK);
  const put = (offset: number, text: string) => block.set(new TextEncoder().encode(text), offset);
  // numeric fields are zero-padded octal ending in NUL (ustar, POSIX.1-1988)
  const octal = (value: number, width: number) => value.toString(8).padStart(width - 1, "0");
  block.set(name, 0);
  put(100, octal(entry.mode, 8));
  put(108, octal(0, 8)); // uid
  put(116, octal(0, 8)); // gid
  put(124, octal(entry.data.length, 12));
  put(136, octal(0, 12)); // mtime
  put(148, "        "); // the checksum counts its own field as spaces
  put(156, "0"); // regular file
  put(257, "ustar\u000000");
  const sum = block.reduce((total, byte) => total + byte, 0);
  put(148, `${octal(sum, 7)}\u0000 `);
  return block;
}
