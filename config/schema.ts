/**
 * Every config key as one schema row: type, range, default and description together.
 *
 * The same rows drive validation and defaults (config/load.ts) and the key table in
 * docs/configuration.md (config/docs.ts), so the three cannot disagree.
 */

/** The kinds of value a key may hold; each has one validator in config/load.ts. */
export const VALUE_TYPE = {
  string: "string",
  integer: "integer",
  role: "role",
  ipAddress: "IP address",
  socketAddress: "socket address",
  socketAddressList: "socket address list",
  hostPort: "host:port",
  portRange: "port range",
  flags: "flags",
  path: "path",
  networkList: "network list",
  boolean: "boolean",
  pbxTargets: "PBX target list",
  statusList: "status code list",
} as const;
export type ValueType = typeof VALUE_TYPE[keyof typeof VALUE_TYPE];

/** A TOML value as written in a file: what a row's default is given as. */
export type TomlValue = string | number | boolean | readonly TomlValue[];

/** One config key. */
export interface SchemaRow {
  /** Dotted TOML path; `<name>` stands for any table name (`interfaces.<name>.role`). */
  readonly key: string;
  readonly type: ValueType;
  /** A required key has no default; an optional key without a default resolves to undefined. */
  readonly required: boolean;
  /** Written as it would be in TOML, and validated like a user's value. */
  readonly default?: TomlValue;
  /** Inclusive bounds for an integer, or for both ends of a port range. */
  readonly min?: number;
  readonly max?: number;
  /** A socket address that may name a host instead of an IP (only where we send, never bind). */
  readonly hostNames?: boolean;
  /** An example value for docs and error messages. */
  readonly example?: string;
  readonly doc: string;
}

/** Placeholder segment in a row key that matches any table name. */
export const ANY_NAME = "<name>";

/** Interface names end up in logs and metric labels, so keep them to TOML bare keys. */
export const INTERFACE_NAME_PATTERN = /^[A-Za-z0-9_-]+$/;

export const CONFIG_SCHEMA: readonly SchemaRow[] = [
  {
    key: "interfaces.<name>.role",
    type: VALUE_TYPE.role,
    required: true,
    example: `"external"`,
    doc: `Which side this interface is: "external" (carriers, remote phones, the internet) or ` +
      `"internal" (the PBX). Exactly one interface of each role.`,
  },
  {
    key: "interfaces.<name>.sip",
    type: VALUE_TYPE.socketAddressList,
    required: true,
    example: `["udp:127.0.1.1:5060", "tcp:127.0.1.1:5060"]`,
    doc: "SIP listen sockets in Kamailio `listen` syntax `proto:ip:port`: proto udp, tcp or " +
      "tls (default udp; tls needs `[interfaces.<name>.tls]`), port default 5060 (5061 for " +
      "tls), IPv6 in brackets (`udp:[::1]:5060`). IP addresses only. No socket may appear twice " +
      "across interfaces.",
  },
  {
    key: "interfaces.<name>.media",
    type: VALUE_TYPE.ipAddress,
    required: true,
    example: `"127.0.1.1"`,
    doc: "Local IP address for this side's RTP sockets (one half of rtpproxy `-l A/B`). " +
      "The two interfaces need different media addresses.",
  },
  {
    key: "interfaces.<name>.advertise",
    type: VALUE_TYPE.ipAddress,
    required: false,
    example: `"203.0.113.10"`,
    doc: "Address written into Via, Record-Route and SDP instead of the local one, for a host " +
      "behind 1:1 NAT (rtpproxy `-A`). Absent: the listen and media addresses.",
  },
  {
    key: "interfaces.<name>.flags",
    type: VALUE_TYPE.flags,
    required: false,
    default: "",
    example: `"w"`,
    doc: "rtpproxy_manage modifier letters for messages received on this side; see " +
      "[Interface flags](#interface-flags).",
  },
  {
    key: "interfaces.<name>.allow",
    type: VALUE_TYPE.networkList,
    required: false,
    default: [],
    example: `["198.51.100.0/24"]`,
    doc: "Networks (CIDR, or single addresses) whose SIP this interface serves; empty: any " +
      "source. Anything else is dropped before it is parsed, with nothing sent back.",
  },
  {
    key: "interfaces.<name>.deny",
    type: VALUE_TYPE.networkList,
    required: false,
    default: [],
    example: `["192.0.2.0/24"]`,
    doc: "Networks whose SIP this interface drops before parsing, with nothing sent back; " +
      "checked after `allow`.",
  },
  {
    key: "interfaces.<name>.trusted",
    type: VALUE_TYPE.networkList,
    required: false,
    default: [],
    example: `["203.0.113.0/24"]`,
    doc: "Networks (CIDR, or single addresses) whose requests on this side may assert an " +
      "identity: from any other source on the external side, P-Asserted-Identity, " +
      "P-Preferred-Identity and Remote-Party-ID are removed before the request reaches the PBX " +
      "(RFC 3325 §5). A carrier's proxies belong here.",
  },
  {
    key: "interfaces.<name>.networks",
    type: VALUE_TYPE.networkList,
    required: false,
    default: [],
    example: `["10.0.0.0/8"]`,
    doc: "Networks behind this interface. Nothing leaves by the other interface towards them, " +
      "whatever a header says. The interface's own addresses always belong to it, and the " +
      "internal interface also owns the PBX's address (`pbx.address`, when it is an IP).",
  },
  {
    key: "interfaces.<name>.topology_hiding",
    type: VALUE_TYPE.boolean,
    required: false,
    example: "false",
    doc: "Hide the other side's topology from messages leaving by this interface: one " +
      "Record-Route entry, our Contact and Via only, From/To hosts and Call-IDs that name " +
      "the other side's addresses rewritten, `o=` rewritten, Server/User-Agent replaced " +
      "(see docs/security.md). Absent: on for the external interface, off for the internal one.",
  },
  {
    key: "interfaces.<name>.server_header",
    type: VALUE_TYPE.string,
    required: false,
    example: `"edgesbc"`,
    doc: "With topology hiding, the value of Server and User-Agent headers leaving by this " +
      "interface. Absent: those headers are removed.",
  },
  {
    key: "interfaces.<name>.nat_ping",
    type: VALUE_TYPE.integer,
    required: false,
    default: 30,
    min: 0,
    max: 3600,
    doc: "Seconds between keepalives to phones registered from behind NAT through this " +
      "interface (their Contact names another address than their SIP comes from): an OPTIONS " +
      "over UDP, a CRLF pair over TCP (RFC 5626). A binding is forgotten when its registration " +
      "expires or three pings go unanswered. 0 turns it off.",
  },
  {
    key: "interfaces.<name>.srtp",
    type: VALUE_TYPE.string,
    required: false,
    default: "off",
    example: `"mandatory"`,
    doc: `SRTP (SDES, RFC 4568) ended at the relay for this interface's parties: "off" (RTP as ` +
      `it comes; an SRTP offer towards an SRTP interface is refused), "optional" (SRTP offers ` +
      `are answered with the SBC's own key, plain ones stay plain; offers sent here are plain) ` +
      `or "mandatory" (offers sent here are RTP/SAVP with the SBC's key; a plain offer from ` +
      `here is answered 488). Keys never cross to the other interface. Suites ` +
      "AES_CM_128_HMAC_SHA1_80 and _32.",
  },
  {
    key: "interfaces.<name>.tls.cert",
    type: VALUE_TYPE.path,
    required: false,
    example: `"/etc/edgesbc/tls/sbc.pem"`,
    doc: "PEM certificate (chain) this interface presents on its `tls:` sockets, and as a " +
      "client certificate on TLS connections it opens. Required with a `tls:` socket; `check` " +
      "refuses a file it cannot read, that is not a certificate, or that has expired or is not " +
      "yet valid. SIGHUP re-reads it without dropping calls or connections.",
  },
  {
    key: "interfaces.<name>.tls.key",
    type: VALUE_TYPE.path,
    required: false,
    example: `"/etc/edgesbc/tls/sbc.key"`,
    doc: "PEM private key of `cert`; `check` refuses one that does not match the certificate.",
  },
  {
    key: "interfaces.<name>.tls.min_version",
    type: VALUE_TYPE.string,
    required: false,
    default: "1.2",
    example: `"1.3"`,
    doc: `Lowest TLS version accepted and offered: "1.2" or "1.3".`,
  },
  {
    key: "interfaces.<name>.tls.ca",
    type: VALUE_TYPE.path,
    required: false,
    example: `"/etc/edgesbc/tls/carriers-ca.pem"`,
    doc: "PEM CA certificates that verify client certificates (with `verify_client`) and the " +
      "servers this interface connects to over TLS. Absent: servers are verified against the " +
      "system's CAs.",
  },
  {
    key: "interfaces.<name>.tls.verify_client",
    type: VALUE_TYPE.boolean,
    required: false,
    default: false,
    example: "true",
    doc: "Mutual TLS: a client must present a certificate signed by `ca`, or the handshake " +
      "fails. For carriers that require it.",
  },
  {
    key: "media.ports",
    type: VALUE_TYPE.portRange,
    required: false,
    default: [10000, 20000],
    min: 1024,
    max: 65535,
    doc: "Inclusive RTP port range `[min, max]` (rtpproxy `-m`/`-M`). RTP takes even ports and " +
      "RTCP the odd port above, so min must be even and the range must hold at least one pair.",
  },
  {
    key: "media.timeout",
    type: VALUE_TYPE.integer,
    required: false,
    default: 60,
    min: 1,
    max: 86400,
    doc: "Seconds without packets before a session is dropped (rtpproxy `-T`).",
  },
  {
    key: "media.hold_timeout",
    type: VALUE_TYPE.integer,
    required: false,
    default: 3600,
    min: 1,
    max: 86400,
    doc: "Seconds without packets before a call on hold (sendonly or inactive) is dropped; " +
      "a held call is silent on purpose, so this is longer than `timeout`.",
  },
  {
    key: "media.offer_timeout",
    type: VALUE_TYPE.integer,
    required: false,
    default: 180,
    min: 1,
    max: 3600,
    doc: "Seconds an offer may wait for its answer before the session is reaped. Keep it above " +
      "the longest ringing time (Kamailio's `fr_inv_timer` defaults to 120).",
  },
  {
    key: "media.max_streams",
    type: VALUE_TYPE.integer,
    required: false,
    default: 16,
    min: 1,
    max: 1024,
    doc: "Most `m=` lines one SDP may hold; an offer with more is answered `488`. Each line " +
      "binds two sockets per side, so this bounds what one INVITE can take.",
  },
  {
    key: "media.max_offers_per_source",
    type: VALUE_TYPE.integer,
    required: false,
    default: 200,
    min: 1,
    max: 1000000,
    doc: "Most unanswered offers (calls ringing, each holding relay ports) one outside address " +
      "may have at once; the next is answered `503`. Sources in the external `trusted` " +
      "networks (a carrier's trunk) are exempt.",
  },
  {
    key: "media.max_sessions_per_source",
    type: VALUE_TYPE.integer,
    required: false,
    default: 1000,
    min: 1,
    max: 1000000,
    doc: "Most media sessions (calls with relay ports, answered or not) one outside address may " +
      "hold at once; the next offer is answered `503`. Trusted sources are exempt.",
  },
  {
    key: "pbx.address",
    type: VALUE_TYPE.socketAddress,
    required: false,
    hostNames: true,
    example: `"udp:127.0.2.10:5060"`,
    doc: "Where initial requests from the external side go, in the same syntax as `sip`; a host " +
      "name is allowed here. Must not be one of our own SIP sockets. One PBX: the same as " +
      "`targets` with one entry. Give `address` or `targets`.",
  },
  {
    key: "pbx.targets",
    type: VALUE_TYPE.pbxTargets,
    required: false,
    example: `[{ address = "udp:10.0.0.10:5060", priority = 1, weight = 2 }]`,
    doc: "A pool of PBXs (Kamailio's dispatcher set): `address` as above, `priority` (default 1; " +
      "lower first, a priority is used only when every target of the lower ones is down) and " +
      "`weight` (default 1; share of new calls within its priority, chosen by a hash of the " +
      "Call-ID so a retried call goes to the same target).",
  },
  {
    key: "pbx.failover_on",
    type: VALUE_TYPE.statusList,
    required: false,
    default: [408, 500, 502, 503, 504],
    example: "[408, 480, 500, 502, 503, 504]",
    doc: "Final answers to a new call that move it to the next target (serial forking, the same " +
      "media session); no answer at all (`reply_timeout`) always does. Other answers go to the " +
      "caller.",
  },
  {
    key: "pbx.reply_timeout",
    type: VALUE_TYPE.integer,
    required: false,
    default: 5,
    min: 1,
    max: 32,
    doc: "Seconds without any answer to a request before its branch is given up (Kamailio's " +
      "`fr_timer`): a new call then tries the next target, anything else is answered `408`.",
  },
  {
    key: "pbx.ring_timeout",
    type: VALUE_TYPE.integer,
    required: false,
    default: 120,
    min: 1,
    max: 3600,
    doc:
      "Seconds an INVITE may ring (after a provisional answer) without a final one (Kamailio's " +
      "`fr_inv_timer`); then it is cancelled and the caller gets `408`.",
  },
  {
    key: "pbx.health.interval",
    type: VALUE_TYPE.integer,
    required: false,
    default: 5,
    min: 0,
    max: 3600,
    doc:
      "Seconds between OPTIONS pings to each PBX target from the internal interface. An answer " +
      "that `failure_status` does not match is a good ping; no answer within 2 s a failed one. " +
      "0 turns the pings off: every target counts as up.",
  },
  {
    key: "pbx.health.failures",
    type: VALUE_TYPE.integer,
    required: false,
    default: 3,
    min: 1,
    max: 100,
    doc: "Failed pings in a row before a target is down (no new call goes to it).",
  },
  {
    key: "pbx.health.successes",
    type: VALUE_TYPE.integer,
    required: false,
    default: 2,
    min: 1,
    max: 100,
    doc: "Good pings in a row before a down target is up again.",
  },
  {
    key: "pbx.health.failure_status",
    type: VALUE_TYPE.string,
    required: false,
    default: "408|5[0-9][0-9]|6[0-9][0-9]",
    example: `"408|404|5[0-9][0-9]|6[0-9][0-9]"`,
    doc: "Answers to a health ping that count as failed, as a regular expression over the status " +
      "code (as Kamailio's `t_check_status`), matched whole. Any other answer is a good ping: a " +
      "PBX answering 404 or 405 to OPTIONS is up by default.",
  },
  {
    key: "limits.calls",
    type: VALUE_TYPE.integer,
    required: false,
    default: 0,
    min: 0,
    max: 10_000_000,
    doc:
      "Concurrent calls at most (rtpengine's `--max-sessions`); a new call past it is answered " +
      "`503` with `Retry-After`. 0: no limit.",
  },
  {
    key: "limits.calls_per_second",
    type: VALUE_TYPE.integer,
    required: false,
    default: 0,
    min: 0,
    max: 1_000_000,
    doc: "New calls per second at most, over the last second; past it a new call is answered " +
      "`503` with `Retry-After`. 0: no limit.",
  },
  {
    key: "sip.tcp_idle_timeout",
    type: VALUE_TYPE.integer,
    required: false,
    default: 120,
    min: 1,
    max: 86400,
    doc: "Seconds before an idle TCP connection is closed (Kamailio `tcp_connection_lifetime`).",
  },
  {
    key: "sip.tcp_message_timeout",
    type: VALUE_TYPE.integer,
    required: false,
    default: 10,
    min: 1,
    max: 3600,
    doc: "Seconds a SIP message begun on a TCP connection may take to arrive whole; past it the " +
      "connection is closed (a sender trickling a header a byte at a time).",
  },
  {
    key: "sip.max_tcp_connections",
    type: VALUE_TYPE.integer,
    required: false,
    default: 4096,
    min: 1,
    max: 1000000,
    doc: "TCP connections at most; a new inbound one past it is closed at once.",
  },
  {
    key: "sip.max_tcp_per_source",
    type: VALUE_TYPE.integer,
    required: false,
    default: 32,
    min: 1,
    max: 1000000,
    doc: "Inbound TCP connections one address may hold; the inside's networks and the external " +
      "`trusted` ones are exempt.",
  },
  {
    key: "sip.rate_limit",
    type: VALUE_TYPE.integer,
    required: false,
    default: 2000,
    min: 1,
    max: 1000000,
    doc: "SIP messages per second one outside address may send (Kamailio's `pike`); past it the " +
      "address is dropped unparsed for `ban_time` seconds, logged once per ban. A carrier trunk " +
      "at 200 calls per second sends about 1,000; sources in the external `trusted` networks " +
      "are exempt.",
  },
  {
    key: "sip.ban_time",
    type: VALUE_TYPE.integer,
    required: false,
    default: 60,
    min: 1,
    max: 86400,
    doc: "Seconds an outside address past `rate_limit` is dropped.",
  },
  {
    key: "sip.max_transactions",
    type: VALUE_TYPE.integer,
    required: false,
    default: 100000,
    min: 100,
    max: 10000000,
    doc: "Server transactions alive at most; a new request past it is answered `503` at once.",
  },
  {
    key: "sip.max_transactions_per_source",
    type: VALUE_TYPE.integer,
    required: false,
    default: 10000,
    min: 10,
    max: 10000000,
    doc: "Server transactions one outside address may have alive (a trunk at 200 calls per " +
      "second ringing 30 s has about 6,000); past it its new requests are answered `503`. " +
      "Sources in the external `trusted` networks are exempt.",
  },
  {
    key: "routing.script",
    type: VALUE_TYPE.path,
    required: false,
    example: `"route.ts"`,
    doc: "TypeScript routing script with `ksr_request_route(msg)` (see docs/scripting.md), " +
      "relative to the config file's directory. Absent: the built-in bridge pipeline.",
  },
  {
    key: "admin.listen",
    type: VALUE_TYPE.hostPort,
    required: false,
    example: `"127.0.0.1:8089"`,
    doc: "HTTP admin listener `ip:port` (`[ip6]:port` for IPv6): `/metrics`, `/api/calls`, " +
      "`/api/stats`, `POST /api/reload`. Absent: no admin listener. Without `token_file` it " +
      "must be a loopback or internal address: `check` refuses a wildcard or an external one.",
  },
  {
    key: "admin.token_file",
    type: VALUE_TYPE.path,
    required: false,
    example: `"/etc/edgesbc/admin.token"`,
    doc: "File holding the admin API's bearer token (its first line, 16 characters or more), " +
      "relative to the config file's directory. Set: every request needs " +
      "`Authorization: Bearer <token>` (`ctl -c FILE` sends it), except `/metrics` with " +
      "`metrics_open`.",
  },
  {
    key: "admin.metrics_open",
    type: VALUE_TYPE.boolean,
    required: false,
    default: false,
    example: "true",
    doc: "Serve `/metrics` without the token (a Prometheus on a trusted network).",
  },
];

/** rtpproxy_manage modifier letters an interface's `flags` may hold, with what each does. */
export const INTERFACE_FLAGS: readonly { readonly letter: string; readonly doc: string }[] = [
  {
    letter: "a",
    doc: "Asymmetric: this side's UAs send media from another port than their SDP names, so " +
      "never latch; always send to the SDP address. Media is still accepted only from the " +
      "party's SIP or SDP host (docs/security.md).",
  },
  {
    letter: "w",
    doc: "Symmetric: latch onto the address media really comes from. Already the default; " +
      "accepted for configurations imported from Kamailio.",
  },
  {
    letter: "r",
    doc: "Trust the address in the SDP (rtpproxy's meaning): on the external side, send to it " +
      "until latching instead of to the party's SIP source address. The internal side always " +
      "trusts the SDP; so do `trusted` sources. Never an inside address from outside.",
  },
  {
    letter: "c",
    doc: "Also rewrite the session-level `c=` line when every `m=` line has its own.",
  },
  { letter: "o", doc: "Also rewrite the address in the `o=` line." },
  {
    letter: "f",
    doc: "Force: rewrite the SDP even if another relay on the path already marked it.",
  },
];

/** Letters rtpproxy_manage knows that an interface may not set, with the reason shown to users. */
export const REFUSED_FLAGS: readonly { readonly letters: string; readonly reason: string }[] = [
  { letters: "iex", reason: "the direction is derived from the receiving and sending interface" },
  { letters: "ls", reason: "the offer and answer are decided from the method and status" },
  { letters: "12", reason: "sessions are keyed by Call-ID and tags, not by Via branches" },
  { letters: "z", reason: "repacketization is not supported" },
];
