/**
 * The part of libc the FFI socket backend (rtp/packet/ffi_socket.ts) calls: constants from the
 * Linux headers, struct layouts (LP64: x86_64 and aarch64), the symbol table, and the library,
 * loaded once when this module is evaluated and only when `--allow-ffi` is granted. It stays
 * loaded for the life of the process (a nonblocking call may be in flight).
 *
 * @module
 */

export const AF_INET = 2;
export const SOCK_DGRAM = 2;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_RCVBUF = 8;
export const SO_RCVBUFFORCE = 33;
export const IPPROTO_IP = 0;
export const IP_TOS = 1;
export const MSG_DONTWAIT = 0x40;
export const EPOLLIN = 0x1;
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLL_CLOEXEC = 0o2000000;
export const EFD_NONBLOCK = 0o4000;
export const EFD_CLOEXEC = 0o2000000;
export const EADDRINUSE = 98;
export const EACCES = 13;

// struct layouts (LP64)
export const MMSG = 64; // struct mmsghdr: msghdr (56) + msg_len + padding
export const MSG_LEN = 56;
export const IOV = 16;
export const NAME = 16; // struct sockaddr_in
export const EVENT = 12; // struct epoll_event is packed on x86_64

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  recvmmsg: { parameters: ["i32", "buffer", "u32", "i32", "pointer"], result: "i32" },
  sendmmsg: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  epoll_wait_thread: {
    name: "epoll_wait",
    parameters: ["i32", "buffer", "i32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  __errno_location: { parameters: [], result: "pointer" },
  getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
} as const;

export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

export const LIBC: Libc | undefined = load();

function load(): Libc | undefined {
  if (Deno.build.os !== "linux" || !["x86_64", "aarch64"].includes(Deno.build.arch)) {
    return undefined;
  }
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return undefined;
    return Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  } catch {
    return undefined;
  }
}

/** libc could be loaded: the FFI backend can run. */
export function ffiAvailable(): boolean {
  return LIBC !== undefined;
}

/** The calling thread's errno after a failed call. */
export function errno(libc: Libc): number {
  const p = libc.__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

/** IPv4 dotted quad to the 32-bit value as stored in `sin_addr` read little-endian; -1 if not one. */
function ipv4Word(host: string): number {
  const parts = host.split(".");
  if (parts.length !== 4) return -1;
  let word = 0;
  for (let i = 3; i >= 0; i--) {
    const b = Number(parts[i]);
    if (!Number.isInteger(b) || b < 0 || b > 255) return -1;
    word = word * 256 + b;
  }
  return word;
}

/** `struct sockaddr_in` for an IPv4 literal; undefined for anything else. */
export function sockaddr(host: string, port: number): Uint8Array | undefined {
  const word = ipv4Word(host);
  if (word < 0) return undefined;
  const a = new Uint8Array(NAME);
  const v = new DataView(a.buffer);
  v.setUint16(0, AF_INET, true);
  v.setUint16(2, port, false);
  v.setUint32(4, word, true);
  return a;
}
