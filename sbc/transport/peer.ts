/**
 * A transport address of the far end, and how edgesbc writes it (lookups, log lines).
 *
 * @module
 */

import { formatHostPort } from "../../config/socket_address.ts";

export interface Peer {
  readonly host: string;
  readonly port: number;
}

/** "host:port", the key for connection lookups and log lines. */
export function peerKey(peer: Peer): string {
  return formatHostPort(peer);
}
