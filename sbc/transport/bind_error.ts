/**
 * The error for a socket that cannot be bound at startup. The OS says only "Address already in
 * use"; with several sockets on two interfaces the operator needs to know which one.
 */
import type { SipProto } from "../../config/config.ts";
import { formatSocketAddress } from "../../config/socket_address.ts";

/** `Cannot bind udp:127.0.1.1:5060: Address already in use`. */
export function bindError(
  address: { readonly proto: SipProto; readonly host: string; readonly port: number },
  err: unknown,
): Error {
  const reason = (err instanceof Error ? err.message : `${err}`).replace(/ \(os error \d+\)$/, "");
  return new Error(`Cannot bind ${formatSocketAddress(address)}: ${reason}`, { cause: err });
}
