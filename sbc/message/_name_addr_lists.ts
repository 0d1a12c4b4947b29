/**
 * The headers of a request whose every entry parseMessage() (message.ts) checks, though it leaves
 * parsing them to the reader: Contact, Route and Record-Route, lists of name-addrs (RFC 3261
 * §20.10, §20.30, §20.34). The proxy routes by Route, the PBX by Contact and Record-Route; a
 * request with one that cannot be read is answered 400 rather than passed on with its error
 * (RFC 3261 §16.3 step 1). A response's are not checked: dropping an answer would hurt more.
 */
import { parseNameAddr, splitValues } from "./header_codecs.ts";

/** Lowercase full name → the name as error messages spell it. */
export const NAME_ADDR_LISTS: ReadonlyMap<string, string> = new Map([
  ["contact", "Contact"],
  ["route", "Route"],
  ["record-route", "Record-Route"],
]);

/** Why one line of such a header (`key`) in a request of `method` is malformed, if it is. */
export function nameAddrListProblem(
  key: string,
  value: string,
  method: string,
): string | undefined {
  for (const entry of splitValues(value)) {
    if (entry === "*" && key === "contact") {
      // RFC 3261 §10.2.2: "*" removes every binding of a REGISTER; nowhere else does it mean a thing.
      if (method !== "REGISTER") return '"*" is only allowed in REGISTER';
    } else if (parseNameAddr(entry) === undefined) return "name-addr is malformed";
  }
  return undefined;
}
