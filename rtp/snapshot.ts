/**
 * Read-only snapshots of the relay for the admin API: `stats()` counters and the `calls()` list.
 * Pure: built from the relay's port pools, sessions and totals, changing none of them.
 *
 * @module
 */

import type { RelayTotals } from "./packet/forward.ts";
import type { PortPool } from "./port_pool.ts";
import {
  type CallInfo,
  callInfo,
  type CallTraffic,
  type MediaSession,
  type RelayStats,
} from "./session.ts";

export interface StatsInput {
  /** One pool per media address. */
  readonly pools: Iterable<PortPool>;
  /** Sessions grouped by Call-ID. */
  readonly calls: Iterable<readonly MediaSession[]>;
  readonly totals: Readonly<RelayTotals>;
  readonly offersRefused: number;
}

/** Port, session, stream and packet counters over the whole relay. */
export function relayStats(input: StatsInput): RelayStats {
  let portsInUse = 0;
  let portsFree = 0;
  for (const pool of input.pools) {
    portsInUse += pool.inUse;
    portsFree += pool.free;
  }
  let sessions = 0;
  let streams = 0;
  for (const list of input.calls) {
    sessions += list.length;
    for (const s of list) for (const st of s.streams) if (st?.legs) streams++;
  }
  return {
    portsInUse,
    portsFree,
    sessions,
    streams,
    packetsRelayed: input.totals.packets,
    bytesRelayed: input.totals.bytes,
    drops: input.totals.drops,
    srtpFailures: input.totals.srtpFailures,
    offersRefused: input.offersRefused,
  };
}

/** Media relayed for one call's sessions, closed streams included, by the side it came from. */
export function callTraffic(sessions: readonly MediaSession[] | undefined): CallTraffic {
  const traffic = { external: { packets: 0, bytes: 0 }, internal: { packets: 0, bytes: 0 } };
  for (const session of sessions ?? []) {
    for (const side of ["external", "internal"] as const) {
      traffic[side].packets += session.closedTraffic[side].packets;
      traffic[side].bytes += session.closedTraffic[side].bytes;
    }
    for (const stream of session.streams) {
      for (const leg of stream?.legs ?? []) {
        traffic[leg.side].packets += leg.packets + leg.rtcpPackets;
        traffic[leg.side].bytes += leg.bytes + leg.rtcpBytes;
      }
    }
  }
  return traffic;
}

/** One entry per media session, sessions grouped by Call-ID. */
export function callList(calls: Iterable<readonly MediaSession[]>): CallInfo[] {
  const out: CallInfo[] = [];
  for (const list of calls) for (const s of list) out.push(callInfo(s));
  return out;
}
