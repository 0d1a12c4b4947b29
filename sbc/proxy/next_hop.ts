/**
 * Where a routed request is sent: its target resolved (RFC 3263 through getaddrinfo, or the fixed
 * address a Path or the PBX gives), over a transport the outgoing side listens on.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { resolveHost, resolveUri } from "../transport/destination.ts";
import type { SendTarget } from "../transport/transport.ts";
import type { Target } from "./context.ts";
import { defaultProto, type LocalSides } from "./local_address.ts";

const log = getLogger(["edgesbc", "sip"]);

/**
 * The send target for `target`; undefined when its host cannot be resolved, or it asks for TLS
 * and the outgoing side has none.
 */
export async function resolveNextHop(
  target: Target,
  sides: LocalSides,
): Promise<SendTarget | undefined> {
  const out = sides[target.out];
  const fallback = target.proto ?? defaultProto(out);
  const dest = target.peer
    ? await resolveHost(target.peer.host, target.peer.port, fallback)
    : await resolveUri(target.uri, fallback);
  if (!dest) return undefined;
  // TLS is never given up for a cleartext transport (RFC 3261 §26.2.2): no TLS socket, no send.
  if (dest.proto === "tls" && out.ports.tls === undefined) {
    log.warn("Not sending to {uri}: it asks for TLS and the {side} interface has no tls: socket", {
      uri: target.uri,
      side: target.out,
    });
    return undefined;
  }
  // Another transport the outgoing side does not listen on falls back to the one it has.
  const proto = out.ports[dest.proto] !== undefined ? dest.proto : defaultProto(out);
  return {
    side: target.out,
    proto,
    dest: dest.peer,
    connection: undefined,
    ...(dest.name !== undefined && { serverName: dest.name }),
  };
}
