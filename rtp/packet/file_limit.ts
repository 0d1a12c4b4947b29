/**
 * The process's open-file limit (RLIMIT_NOFILE): raised at start as far as the hard limit allows,
 * since every relay port is a descriptor; and how much of a port range fits in it.
 *
 * @module
 */
import { LIBC } from "./_libc.ts";

/** RLIMIT_NOFILE on Linux (x86_64 and aarch64). */
const RLIMIT_NOFILE = 7;

/** The soft and hard limits; undefined when they cannot be read (no FFI, not Linux). */
export interface FileLimit {
  readonly soft: number;
  readonly hard: number;
}

/** Raises the soft limit to the hard one; the limits in force after, if they can be read. */
export function raiseFileLimit(): FileLimit | undefined {
  const libc = LIBC;
  if (libc === undefined) return undefined;
  const limits = new BigUint64Array(2);
  const bytes = new Uint8Array(limits.buffer);
  if (libc.getrlimit(RLIMIT_NOFILE, bytes) !== 0) return undefined;
  if (limits[0]! < limits[1]!) {
    limits[0] = limits[1]!;
    libc.setrlimit(RLIMIT_NOFILE, bytes);
    libc.getrlimit(RLIMIT_NOFILE, bytes);
  }
  const big = (
    n: bigint,
  ) => (n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n));
  return { soft: big(limits[0]!), hard: big(limits[1]!) };
}

/**
 * The part of `ports` the relay can open on `addresses` media addresses, keeping `reserve`
 * descriptors for everything else (SIP sockets, TCP connections, the admin API): the range as
 * is when it fits, else cut short (an even number of ports: RTP and RTCP pairs).
 */
export function fittingPorts(
  ports: readonly [number, number],
  budget: { readonly limit: number; readonly reserve: number; readonly addresses: number },
): readonly [number, number] {
  const [min, max] = ports;
  const perAddress = Math.floor((budget.limit - budget.reserve) / budget.addresses);
  if (max - min + 1 <= perAddress) return ports;
  const count = Math.max(2, perAddress - (perAddress % 2));
  return [min, Math.min(max, min + count - 1)];
}
