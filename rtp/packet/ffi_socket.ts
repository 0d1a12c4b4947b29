/**
 * The fast relay socket backend: non-blocking IPv4 UDP sockets driven through libc with
 * `Deno.dlopen` (Linux x86_64/aarch64 ABI). One epoll set per relay; `epoll_wait` blocks on a
 * runtime thread (a `nonblocking` FFI symbol), and once it reports, the relay drains every ready
 * socket with `recvmmsg` and forwards each batch with one `sendmmsg` on the paired socket, straight
 * from the receive buffers. After a wake-up it keeps polling with a zero timeout for a few
 * microseconds before going back to the thread, so a busy relay pays for the thread hop rarely.
 *
 * Each socket gets a 4 MiB receive buffer (bursts after a scheduling hiccup are absorbed instead
 * of dropped) and DSCP EF (RFC 3246; IP_TOS 0xB8), the class RTP is expected to carry
 * (RFC 4594 §4.1 telephony).
 *
 * The libc constants, struct layouts and symbols are in rtp/packet/_libc.ts.
 *
 * @module
 */

import { type DatagramBackend, type Forwarder, PACKET_ROOM, type RelaySocket } from "./backend.ts";
import {
  AF_INET,
  EACCES,
  EADDRINUSE,
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLL_CTL_DEL,
  EPOLLIN,
  errno,
  EVENT,
  IOV,
  IP_TOS,
  IPPROTO_IP,
  LIBC,
  type Libc,
  MMSG,
  MSG_DONTWAIT,
  MSG_LEN,
  NAME,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  sockaddr,
  SOL_SOCKET,
} from "./_libc.ts";

/** DSCP EF (46) in the TOS byte. */
const TOS_EF = 0xb8;
const RECEIVE_BUFFER_BYTES = 4 << 20;
/** Datagrams taken from one socket per recvmmsg. */
const BATCH = 64;
/** Largest datagram relayed whole; longer ones are truncated, as in the Deno backend. */
const SLOT = 8192;
const MAX_EVENTS = 256;
/**
 * After a wake-up, keep polling with a zero timeout until this many polls in a row find nothing
 * (about 15 µs): a round trip through the thread costs about 25 µs, so at a few thousand packets
 * per second and up the next packet is usually caught here.
 */
const IDLE_POLLS = 32;
/** Polls per wake-up at most, so timers and SIP get the event loop at least every ~1 ms. */
const MAX_POLLS = 512;
/** epoll data of the wake-up eventfd. */
const WAKE = 0xffffffff;

/** Backend over libc; owns the epoll set, the wake-up eventfd and the batch buffers. */
export class FfiBackend implements DatagramBackend {
  readonly name = "ffi" as const;
  readonly #libc: Libc;
  readonly #epoll: number;
  readonly #wake: number;
  /** Sockets by epoll data (slot); freed slots are reused. */
  readonly #slots: (FfiSocket | undefined)[] = [];
  readonly #freeSlots: number[] = [];
  readonly #ctl = new Uint8Array(EVENT);
  readonly #threadEvents = new Uint8Array(EVENT * MAX_EVENTS);
  readonly #pollEvents = new Uint8Array(EVENT * MAX_EVENTS);
  // recvmmsg and sendmmsg vectors and what they point to, in one block that never moves
  readonly #arena: ArrayBuffer;
  readonly #recvVec: Uint8Array;
  readonly #sendVec: Uint8Array;
  readonly #u16: Uint16Array;
  readonly #u32: Uint32Array;
  readonly #bytes: Uint8Array;
  /** Pointer to data slot i, as two 32-bit halves, for writing send iovecs. */
  readonly #slotLo = new Uint32Array(BATCH);
  readonly #slotHi = new Uint32Array(BATCH);
  /** Data slot i as bytes, handed to the forwarder (which may rewrite it in place). */
  readonly #slotViews: Uint8Array[] = [];
  readonly #offsets: {
    recvVec: number;
    recvNames: number;
    sendVec: number;
    sendIovs: number;
    sendNames: number;
  };
  #waiting = false;
  #closed = false;

  constructor() {
    if (LIBC === undefined) throw new Error("libc is not loaded: run with --allow-ffi");
    this.#libc = LIBC;
    const recvVec = 0;
    const recvIovs = recvVec + MMSG * BATCH;
    const recvNames = recvIovs + IOV * BATCH;
    const sendVec = recvNames + NAME * BATCH;
    const sendIovs = sendVec + MMSG * BATCH;
    const sendNames = sendIovs + IOV * BATCH;
    const data = sendNames + NAME * BATCH;
    this.#arena = new ArrayBuffer(data + SLOT * BATCH);
    this.#offsets = { recvVec, recvNames, sendVec, sendIovs, sendNames };
    this.#bytes = new Uint8Array(this.#arena);
    this.#u16 = new Uint16Array(this.#arena);
    this.#u32 = new Uint32Array(this.#arena);
    this.#recvVec = new Uint8Array(this.#arena, recvVec, MMSG * BATCH);
    this.#sendVec = new Uint8Array(this.#arena, sendVec, MMSG * BATCH);
    const base = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(this.#bytes)));
    const v = new DataView(this.#arena);
    for (let i = 0; i < BATCH; i++) {
      const slot = base + BigInt(data + SLOT * i);
      this.#slotLo[i] = Number(slot & 0xffffffffn);
      this.#slotHi[i] = Number(slot >> 32n);
      this.#slotViews.push(new Uint8Array(this.#arena, data + SLOT * i, SLOT));
      // receive: name i, iovec i -> data slot i
      const r = recvVec + MMSG * i;
      v.setBigUint64(r, base + BigInt(recvNames + NAME * i), true);
      v.setUint32(r + 8, NAME, true);
      v.setBigUint64(r + 16, base + BigInt(recvIovs + IOV * i), true);
      v.setBigUint64(r + 24, 1n, true);
      v.setBigUint64(recvIovs + IOV * i, slot, true);
      // Room is left past the longest datagram for an SRTP trailer added in place.
      v.setBigUint64(recvIovs + IOV * i + 8, BigInt(SLOT - PACKET_ROOM), true);
      // send: name i, iovec i (its base and length set per datagram)
      const s = sendVec + MMSG * i;
      v.setBigUint64(s, base + BigInt(sendNames + NAME * i), true);
      v.setUint32(s + 8, NAME, true);
      v.setBigUint64(s + 16, base + BigInt(sendIovs + IOV * i), true);
      v.setBigUint64(s + 24, 1n, true);
      v.setUint16(sendNames + NAME * i, AF_INET, true);
    }
    const libc = this.#libc;
    this.#epoll = libc.epoll_create1(EPOLL_CLOEXEC);
    if (this.#epoll < 0) throw new Error(`epoll_create1 failed: errno ${errno(libc)}`);
    this.#wake = libc.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (this.#wake < 0) {
      libc.close(this.#epoll);
      throw new Error(`eventfd failed: errno ${errno(libc)}`);
    }
    this.#control(EPOLL_CTL_ADD, this.#wake, WAKE);
  }

  bind(hostname: string, port: number): RelaySocket {
    if (this.#closed) throw new Deno.errors.BadResource("relay sockets closed");
    const libc = this.#libc;
    const name = sockaddr(hostname, port);
    if (name === undefined) throw new TypeError(`not an IPv4 address: ${hostname}`);
    const fd = libc.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new Error(`socket failed: errno ${errno(libc)}`);
    if (libc.bind(fd, name, NAME) !== 0) {
      const e = errno(libc);
      libc.close(fd);
      if (e === EADDRINUSE) throw new Deno.errors.AddrInUse(`${hostname}:${port} in use`);
      if (e === EACCES) throw new Deno.errors.PermissionDenied(`bind ${hostname}:${port}`);
      throw new Error(`bind ${hostname}:${port} failed: errno ${e}`);
    }
    const opt = new Uint8Array(4);
    const optView = new DataView(opt.buffer);
    optView.setInt32(0, RECEIVE_BUFFER_BYTES, true);
    // FORCE passes net.core.rmem_max when we may (CAP_NET_ADMIN); else take what the limit allows
    if (libc.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, opt, 4) !== 0) {
      libc.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, opt, 4);
    }
    optView.setInt32(0, TOS_EF, true);
    libc.setsockopt(fd, IPPROTO_IP, IP_TOS, opt, 4);
    const slot = this.#freeSlots.pop() ?? this.#slots.length;
    const socket = new FfiSocket(this, fd, slot);
    this.#slots[slot] = socket;
    return socket;
  }

  /** Wakes the polling thread and frees the epoll set once it has returned. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#slots) s?.close(() => {});
    if (this.#waiting) {
      const one = new Uint8Array(8);
      one[0] = 1;
      this.#libc.write(this.#wake, one, 8n);
    } else {
      this.#release();
    }
  }

  /** For FfiSocket.start(): into the epoll set; the poller runs while anything is watched. */
  watch(fd: number, slot: number): void {
    this.#control(EPOLL_CTL_ADD, fd, slot);
    if (!this.#waiting && !this.#closed) void this.#run();
  }

  /** For FfiSocket.close(): out of the epoll set, fd closed, slot free. */
  unwatch(fd: number, slot: number, started: boolean): void {
    if (started) this.#control(EPOLL_CTL_DEL, fd, slot);
    this.#libc.close(fd);
    this.#slots[slot] = undefined;
    this.#freeSlots.push(slot);
  }

  #control(op: number, fd: number, data: number): void {
    const v = new DataView(this.#ctl.buffer);
    v.setUint32(0, EPOLLIN, true);
    v.setUint32(4, data, true);
    v.setUint32(8, 0, true);
    if (this.#libc.epoll_ctl(this.#epoll, op, fd, this.#ctl) !== 0 && op === EPOLL_CTL_ADD) {
      throw new Error(`epoll_ctl failed: errno ${errno(this.#libc)}`);
    }
  }

  #release(): void {
    this.#libc.close(this.#epoll);
    this.#libc.close(this.#wake);
  }

  async #run(): Promise<void> {
    this.#waiting = true;
    const libc = this.#libc;
    while (!this.#closed) {
      const n = await libc.epoll_wait_thread(this.#epoll, this.#threadEvents, MAX_EVENTS, -1);
      if (this.#closed) break;
      this.#dispatch(this.#threadEvents, n);
      let idle = 0;
      for (let i = 0; i < MAX_POLLS && idle < IDLE_POLLS && !this.#closed; i++) {
        const m = libc.epoll_wait(this.#epoll, this.#pollEvents, MAX_EVENTS, 0);
        if (m > 0) {
          idle = 0;
          this.#dispatch(this.#pollEvents, m);
        } else {
          idle++;
        }
      }
    }
    this.#waiting = false;
    this.#release();
  }

  #dispatch(events: Uint8Array, n: number): void {
    const v = new DataView(events.buffer, events.byteOffset, events.byteLength);
    for (let i = 0; i < n; i++) {
      const slot = v.getUint32(EVENT * i + 4, true);
      if (slot === WAKE) continue;
      this.#slots[slot]?.drain();
    }
  }

  /**
   * Hot path: one recvmmsg on `fd`, one sendmmsg of what the forwarder passes on `outFd`.
   * Returns how many datagrams were received.
   */
  relay(fd: number, source: SourceCache, forwarder: Forwarder, out: FfiSocket): number {
    const libc = this.#libc;
    const r = libc.recvmmsg(fd, this.#recvVec, BATCH, MSG_DONTWAIT, null);
    if (r <= 0) return 0;
    const u16 = this.#u16;
    const u32 = this.#u32;
    const bytes = this.#bytes;
    const o = this.#offsets;
    let k = 0;
    let failed = 0;
    for (let i = 0; i < r; i++) {
      const len = u32[(o.recvVec + MMSG * i + MSG_LEN) >> 2]!;
      const name = o.recvNames + NAME * i;
      const port = (bytes[name + 2]! << 8) | bytes[name + 3]!;
      const word = u32[(name + 4) >> 2]!;
      const from = source.get(word, port, bytes, name);
      const dest = forwarder.forward(from, this.#slotViews[i]!, len);
      if (dest === null) continue;
      const length = forwarder.sendLength;
      const to = out.nameOf(dest);
      if (to === undefined) {
        failed++;
        continue;
      }
      const iov = (o.sendIovs + IOV * k) >> 2;
      u32[iov] = this.#slotLo[i]!;
      u32[iov + 1] = this.#slotHi[i]!;
      u32[iov + 2] = length;
      u32[iov + 3] = 0;
      const sn = o.sendNames + NAME * k;
      u16[(sn + 2) >> 1] = to.portWord;
      u32[(sn + 4) >> 2] = to.word;
      k++;
    }
    if (k > 0) {
      const sent = libc.sendmmsg(out.fd, this.#sendVec, k, MSG_DONTWAIT);
      failed += sent < 0 ? k : k - sent;
    }
    if (failed > 0) forwarder.sendFailed(failed);
    return r;
  }
}

/** A datagram destination as written into a sockaddr_in. */
interface WireName {
  readonly dest: Deno.NetAddr;
  /** Port in network order, read as a little-endian 16-bit word. */
  readonly portWord: number;
  readonly word: number;
}

/** The last source seen on a socket: RTP comes from one place, so the NetAddr is reused. */
class SourceCache {
  #word = -1;
  #port = -1;
  #addr: Deno.NetAddr = { transport: "udp", hostname: "", port: 0 };

  get(word: number, port: number, bytes: Uint8Array, name: number): Deno.NetAddr {
    if (word !== this.#word || port !== this.#port) {
      this.#word = word;
      this.#port = port;
      this.#addr = {
        transport: "udp",
        hostname: `${bytes[name + 4]}.${bytes[name + 5]}.${bytes[name + 6]}.${bytes[name + 7]}`,
        port,
      };
    }
    return this.#addr;
  }
}

class FfiSocket implements RelaySocket {
  readonly #backend: FfiBackend;
  readonly fd: number;
  readonly #slot: number;
  readonly #source = new SourceCache();
  #forwarder: Forwarder | undefined;
  #out: FfiSocket | undefined;
  #name: WireName | undefined;
  #closed = false;

  constructor(backend: FfiBackend, fd: number, slot: number) {
    this.#backend = backend;
    this.fd = fd;
    this.#slot = slot;
  }

  start(forwarder: Forwarder, out: RelaySocket): void {
    if (this.#forwarder !== undefined || this.#closed || !(out instanceof FfiSocket)) return;
    this.#forwarder = forwarder;
    this.#out = out;
    this.#backend.watch(this.fd, this.#slot);
  }

  /** The fd is closed at once (epoll holds no receive in flight), so the port is free now. */
  close(onFree: () => void): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#backend.unwatch(this.fd, this.#slot, this.#forwarder !== undefined);
    this.#forwarder = this.#out = undefined;
    onFree();
  }

  /** Relays what is queued; level-triggered epoll reports the socket again if more is left. */
  drain(): void {
    const forwarder = this.#forwarder;
    const out = this.#out;
    if (forwarder === undefined || out === undefined || out.#closed) return;
    this.#backend.relay(this.fd, this.#source, forwarder, out);
  }

  /** The sockaddr for `dest`, cached while the destination object stays the same. */
  nameOf(dest: Deno.NetAddr): WireName | undefined {
    const cached = this.#name;
    if (cached !== undefined && cached.dest === dest) return cached;
    const a = sockaddr(dest.hostname, dest.port);
    if (a === undefined) return undefined;
    const v = new DataView(a.buffer);
    this.#name = { dest, portWord: v.getUint16(2, true), word: v.getUint32(4, true) };
    return this.#name;
  }
}
