/**
 * One validator per schema value type: checks a TOML value against its row and converts it to
 * the shape Config holds. Returns a result; config/load.ts adds the key path and line.
 */

import { SIDE } from "./config.ts";
import { INTERFACE_FLAGS, REFUSED_FLAGS, type SchemaRow, VALUE_TYPE } from "./schema.ts";
import { parseCidr } from "./cidr.ts";
import { isIpAddress, parseHostPort, parseSocketAddress } from "./socket_address.ts";

// Codes match CONFIG_ERROR_CODE in config/load.ts; spelled out so this file imports no loader.
type CheckCode =
  | "CONFIG_BAD_TYPE"
  | "CONFIG_BAD_VALUE"
  | "CONFIG_OUT_OF_RANGE"
  | "CONFIG_BAD_ADDRESS"
  | "CONFIG_BAD_PORT_RANGE"
  | "CONFIG_BAD_FLAGS";

export type Checked =
  | { readonly ok: true; readonly value: unknown }
  | {
    readonly ok: false;
    readonly code: CheckCode;
    readonly message: string;
    /** Array element the error is about, when it is one element. */
    readonly index?: number;
  };

/** Validate `value` against `row` and convert it to its Config shape. */
export function checkValue(row: SchemaRow, value: unknown): Checked {
  const badType = (): Checked => ({
    ok: false,
    code: "CONFIG_BAD_TYPE",
    message: `expected ${expectedValue(row)}, found ${describeFound(value)}`,
  });
  switch (row.type) {
    case VALUE_TYPE.string:
    case VALUE_TYPE.path: {
      if (typeof value !== "string") return badType();
      if (value === "") return bad("CONFIG_BAD_VALUE", `must not be empty`);
      return { ok: true, value };
    }
    case VALUE_TYPE.integer: {
      if (typeof value !== "number" || !Number.isInteger(value)) return badType();
      if (!inRange(row, value)) {
        return bad("CONFIG_OUT_OF_RANGE", `${value} is out of range: must be ${range(row)}`);
      }
      return { ok: true, value };
    }
    case VALUE_TYPE.role: {
      if (typeof value !== "string") return badType();
      if (value !== SIDE.external && value !== SIDE.internal) {
        return bad("CONFIG_BAD_VALUE", `"${value}" is not a role: use "external" or "internal"`);
      }
      return { ok: true, value };
    }
    case VALUE_TYPE.ipAddress: {
      if (typeof value !== "string") return badType();
      if (!isIpAddress(value)) {
        return bad(
          "CONFIG_BAD_ADDRESS",
          `"${value}" is not an IP address: expected IPv4 such as "127.0.1.1" or IPv6 such as "::1"`,
        );
      }
      return { ok: true, value: value.toLowerCase() };
    }
    case VALUE_TYPE.socketAddress: {
      if (typeof value !== "string") return badType();
      return socketAddress(row, value, undefined);
    }
    case VALUE_TYPE.socketAddressList: {
      if (!Array.isArray(value)) return badType();
      if (value.length === 0) {
        return bad("CONFIG_BAD_VALUE", `must list at least one socket, as in ${row.example}`);
      }
      const addresses = [];
      for (const [index, item] of value.entries()) {
        if (typeof item !== "string") {
          return {
            ok: false,
            code: "CONFIG_BAD_TYPE",
            message: `expected a socket address such as "udp:127.0.1.1:5060", found ` +
              describeFound(item),
            index,
          };
        }
        const checked = socketAddress(row, item, index);
        if (!checked.ok) return checked;
        addresses.push(checked.value);
      }
      return { ok: true, value: addresses };
    }
    case VALUE_TYPE.hostPort: {
      if (typeof value !== "string") return badType();
      const parsed = parseHostPort(value);
      if (!parsed.ok) {
        return bad(
          "CONFIG_BAD_ADDRESS",
          `"${value}" is not a valid listen address: ${parsed.error}`,
        );
      }
      return parsed;
    }
    case VALUE_TYPE.portRange:
      return portRange(row, value, badType);
    case VALUE_TYPE.flags:
      return typeof value === "string" ? flags(value) : badType();
    case VALUE_TYPE.pbxTargets:
      return pbxTargets(row, value, badType);
    case VALUE_TYPE.statusList: {
      if (!Array.isArray(value)) return badType();
      for (const [index, item] of value.entries()) {
        if (typeof item !== "number" || !Number.isInteger(item) || item < 300 || item > 699) {
          return {
            ok: false,
            code: "CONFIG_BAD_VALUE",
            message: `${JSON.stringify(item)} is not a final failure status (300..699)`,
            index,
          };
        }
      }
      return { ok: true, value };
    }
    case VALUE_TYPE.boolean:
      return typeof value === "boolean" ? { ok: true, value } : badType();
    case VALUE_TYPE.networkList: {
      if (!Array.isArray(value)) return badType();
      const networks = [];
      for (const [index, item] of value.entries()) {
        const parsed = typeof item === "string" ? parseCidr(item) : undefined;
        if (parsed === undefined || !parsed.ok) {
          return {
            ok: false,
            code: parsed === undefined ? "CONFIG_BAD_TYPE" : "CONFIG_BAD_ADDRESS",
            message: parsed === undefined
              ? `expected a network such as "203.0.113.0/24", found ${describeFound(item)}`
              : parsed.error,
            index,
          };
        }
        networks.push(parsed.value);
      }
      return { ok: true, value: networks };
    }
  }
}

/** What a row accepts, for messages: `an integer 1..86400`, `a socket address such as "…"`. */
export function expectedValue(row: SchemaRow): string {
  const such = row.example === undefined ? "" : ` such as ${row.example}`;
  switch (row.type) {
    case VALUE_TYPE.string:
      return `a string${such}`;
    case VALUE_TYPE.path:
      return `a file path${such}`;
    case VALUE_TYPE.integer:
      return `an integer ${range(row)}`;
    case VALUE_TYPE.role:
      return `"external" or "internal"`;
    case VALUE_TYPE.ipAddress:
      return `an IP address${such}`;
    case VALUE_TYPE.socketAddress:
      return `a socket address${such}`;
    case VALUE_TYPE.socketAddressList:
      return `an array of socket addresses${such}`;
    case VALUE_TYPE.hostPort:
      return `a string "ip:port"${such}`;
    case VALUE_TYPE.portRange:
      return `an array [min, max] of ports ${range(row)}`;
    case VALUE_TYPE.flags:
      return `a string of flag letters${such}`;
    case VALUE_TYPE.networkList:
      return `an array of networks${such}`;
    case VALUE_TYPE.pbxTargets:
      return `an array of targets${such}`;
    case VALUE_TYPE.statusList:
      return `an array of status codes${such}`;
    case VALUE_TYPE.boolean:
      return "true or false";
  }
}

/** A TOML value as an operator would recognise it: `the string "60"`, `a table`. */
export function describeFound(value: unknown): string {
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  if (typeof value === "number") {
    return Number.isInteger(value) ? `the integer ${value}` : `the float ${value}`;
  }
  if (typeof value === "boolean") return `the boolean ${value}`;
  if (Array.isArray(value)) return `an array`;
  if (value instanceof Date) return `a date`;
  return `a table`;
}

/** `[{ address = "udp:...", priority = 1, weight = 1 }, ...]`: at least one, addresses once. */
function pbxTargets(row: SchemaRow, value: unknown, badType: () => Checked): Checked {
  if (!Array.isArray(value)) return badType();
  if (value.length === 0) return bad("CONFIG_BAD_VALUE", "must list at least one target");
  const targets = [];
  const seen = new Set<string>();
  for (const [index, item] of value.entries()) {
    const fail = (message: string): Checked => ({
      ok: false,
      code: "CONFIG_BAD_VALUE",
      message,
      index,
    });
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      return fail(`expected a table such as ${row.example}, found ${describeFound(item)}`);
    }
    const entry = item as Record<string, unknown>;
    const unknown = Object.keys(entry).filter((k) =>
      !["address", "priority", "weight"].includes(k)
    );
    if (unknown.length > 0) {
      return fail(`unknown key "${unknown[0]}": a target has address, priority and weight`);
    }
    if (typeof entry.address !== "string") return fail("address is missing");
    const address = socketAddress(row, entry.address, index);
    if (!address.ok) return address;
    const priority = entry.priority ?? 1;
    const weight = entry.weight ?? 1;
    if (typeof priority !== "number" || !Number.isInteger(priority) || priority < 0) {
      return fail(`priority must be an integer 0 or more, found ${describeFound(priority)}`);
    }
    if (typeof weight !== "number" || !Number.isInteger(weight) || weight < 1 || weight > 1000) {
      return fail(`weight must be an integer 1..1000, found ${describeFound(weight)}`);
    }
    if (seen.has(entry.address)) return fail(`"${entry.address}" is listed twice`);
    seen.add(entry.address);
    targets.push({ address: address.value, priority, weight });
  }
  return { ok: true, value: targets };
}

function socketAddress(row: SchemaRow, text: string, index: number | undefined): Checked {
  const parsed = parseSocketAddress(text, { hostNames: row.hostNames ?? false });
  if (parsed.ok) return parsed;
  const message = `"${text}" is not a valid socket address: ${parsed.error}`;
  return index === undefined
    ? bad("CONFIG_BAD_ADDRESS", message)
    : { ok: false, code: "CONFIG_BAD_ADDRESS", message, index };
}

function portRange(row: SchemaRow, value: unknown, badType: () => Checked): Checked {
  if (
    !Array.isArray(value) || value.length !== 2 ||
    !value.every((port) => typeof port === "number" && Number.isInteger(port))
  ) {
    return badType();
  }
  const [min, max] = value as [number, number];
  const wrong = (why: string): Checked =>
    bad("CONFIG_BAD_PORT_RANGE", `[${min}, ${max}] is not a valid port range: ${why}`);
  if (!inRange(row, min) || !inRange(row, max)) return wrong(`ports must be ${range(row)}`);
  if (min > max) return wrong(`min ${min} is greater than max ${max}`);
  // RTP on an even port, RTCP on the odd one above (RFC 3550 §11), both inside the range.
  if (min % 2 !== 0) {
    return wrong(`min must be even: RTP takes even ports, RTCP the odd port above`);
  }
  if (max - min < 1) return wrong(`it must hold at least one RTP/RTCP pair (max >= min + 1)`);
  return { ok: true, value: [min, max] };
}

function flags(text: string): Checked {
  const supported = INTERFACE_FLAGS.map((flag) => flag.letter);
  for (const letter of text) {
    if (supported.includes(letter)) continue;
    const refused = REFUSED_FLAGS.find((entry) => entry.letters.includes(letter));
    return bad(
      "CONFIG_BAD_FLAGS",
      refused === undefined
        ? `"${text}" has an unknown flag "${letter}": supported flags are ${supported.join(", ")}`
        : `"${text}" has flag "${letter}", which is not accepted here: ${refused.reason}`,
    );
  }
  if (text.includes("a") && text.includes("w")) {
    return bad(
      "CONFIG_BAD_FLAGS",
      `"${text}" has both "a" (asymmetric) and "w" (symmetric): use one of them`,
    );
  }
  return { ok: true, value: text };
}

function inRange(row: SchemaRow, value: number): boolean {
  return (row.min === undefined || value >= row.min) && (row.max === undefined || value <= row.max);
}

function range(row: SchemaRow): string {
  return `${row.min ?? ""}..${row.max ?? ""}`;
}

function bad(code: CheckCode, message: string): Checked {
  return { ok: false, code, message };
}
