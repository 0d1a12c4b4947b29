/** The resolved configuration every module reads: plain data, produced once by config/load.ts. */

/** A network (config/cidr.ts parses and matches them): its first address and prefix length. */
export interface Cidr {
  /** As written in the config. */
  readonly text: string;
  readonly v6: boolean;
  readonly base: bigint;
  readonly prefix: number;
}

export const SIDE = { external: "external", internal: "internal" } as const;
export type Side = typeof SIDE[keyof typeof SIDE];

export const SIP_PROTO = { udp: "udp", tcp: "tcp", tls: "tls" } as const;
export type SipProto = typeof SIP_PROTO[keyof typeof SIP_PROTO];

/** A Kamailio-style socket address: `udp:127.0.1.1:5060`. `host` may be a name (PBX only). */
export interface SocketAddress {
  readonly proto: SipProto;
  readonly host: string;
  readonly port: number;
}

/** One side of the SBC. */
export interface InterfaceConfig {
  /** The table name in the TOML (`[interfaces.<name>]`). */
  readonly name: string;
  readonly role: Side;
  readonly sip: readonly SocketAddress[];
  /** Local address for this side's RTP sockets (rtpproxy `-l`, one half). */
  readonly media: string;
  /** Address written into Via/Record-Route/SDP for this side (rtpproxy `-A`); undefined = the listen address. */
  readonly advertise: string | undefined;
  /** rtpproxy_manage modifier letters applied to messages received on this side. */
  readonly flags: string;
  /** Sources whose identity headers pass (RFC 3325 §5): `trusted`. */
  readonly trusted: readonly Cidr[];
  /** Sources served (empty: any) and sources dropped before parsing. */
  readonly allow: readonly Cidr[];
  readonly deny: readonly Cidr[];
  /**
   * Networks behind this side, as listed (the SBC adds the side's own addresses and, inside, the
   * PBX's): nothing leaves by the other side towards them.
   */
  readonly networks: readonly Cidr[];
  /** Hide the other side's addresses from what leaves here (on by default for external). */
  readonly topologyHiding: boolean;
  /** With topology hiding: Server/User-Agent value leaving here; undefined removes them. */
  readonly serverHeader: string | undefined;
  /** Seconds between keepalives to NATed registered phones; 0 = off. */
  readonly natPing: number;
  /** SRTP at the relay for this side's parties. */
  readonly srtp: SrtpMode;
  /** Certificates for this side's `tls:` sockets and its outgoing TLS connections. */
  readonly tls: TlsConfig | undefined;
}

/** SRTP at the relay for an interface's parties (rtp/srtp_media.ts). */
export const SRTP_MODE = { off: "off", optional: "optional", mandatory: "mandatory" } as const;
export type SrtpMode = typeof SRTP_MODE[keyof typeof SRTP_MODE];

export const TLS_VERSION = { "1.2": "1.2", "1.3": "1.3" } as const;
export type TlsVersion = typeof TLS_VERSION[keyof typeof TLS_VERSION];

/** `[interfaces.<name>.tls]`: PEM file paths, as configured (config/tls_files.ts reads them). */
export interface TlsConfig {
  readonly cert: string;
  readonly key: string;
  readonly minVersion: TlsVersion;
  /** CA certificates that verify peers (clients with `verifyClient`, servers we connect to). */
  readonly ca: string | undefined;
  /** Mutual TLS: a client without a certificate signed by `ca` is refused. */
  readonly verifyClient: boolean;
}

export interface MediaConfig {
  /** Inclusive RTP port range (rtpproxy `-m`/`-M`). */
  readonly ports: readonly [number, number];
  /** Seconds without packets before a session is dropped (rtpproxy `-T`). */
  readonly timeout: number;
  /** Seconds without packets for a call on hold (sendonly/inactive). */
  readonly holdTimeout: number;
  /** Seconds an offer may wait for its answer before the session is reaped. */
  readonly offerTimeout: number;
  /** Most m= lines in one SDP. */
  readonly maxStreams: number;
  /** Most unanswered offers per untrusted outside source. */
  readonly maxOffersPerSource: number;
  /** Most media sessions per untrusted outside source. */
  readonly maxSessionsPerSource: number;
}

export interface SipConfig {
  /** Seconds before an idle TCP connection is closed. */
  readonly tcpIdleTimeout: number;
  /** Seconds a begun TCP message may take to arrive whole. */
  readonly tcpMessageTimeout: number;
  /** TCP connections at most, and inbound per address. */
  readonly maxTcpConnections: number;
  readonly maxTcpPerSource: number;
  /** Messages per second per untrusted outside address before a ban. */
  readonly rateLimit: number;
  /** Seconds a ban lasts. */
  readonly banTime: number;
  /** Server transactions alive at most. */
  readonly maxTransactions: number;
  /** Server transactions alive per untrusted outside address. */
  readonly maxTransactionsPerSource: number;
}

/** One PBX of `[pbx] targets` (Kamailio dispatcher: a destination with priority and weight). */
export interface PbxTarget {
  readonly address: SocketAddress;
  /** Lower first; a priority is used only when every target of the lower ones is down. */
  readonly priority: number;
  /** Share of new calls within its priority. */
  readonly weight: number;
}

/** `[pbx]`: where initial requests from outside go, and how a failed PBX is left for the next. */
export interface PbxConfig {
  /** The first target (`address`, or `targets[0]`): what scripts' `KSR.sbc.pbx()` names. */
  readonly address: SocketAddress;
  readonly targets: readonly PbxTarget[];
  /** Final answers that move a new call to the next target. */
  readonly failoverOn: readonly number[];
  /** Seconds without any answer before a request's branch is given up (Kamailio fr_timer). */
  readonly replyTimeout: number;
  /** Seconds without a final answer after a provisional one (Kamailio fr_inv_timer). */
  readonly ringTimeout: number;
  readonly health: {
    /** Seconds between OPTIONS pings to each target; 0: no pings, every target stays up. */
    readonly interval: number;
    readonly failures: number;
    readonly successes: number;
    /** Answers that count as failed pings: a pattern over the status code, matched whole. */
    readonly failureStatus: string;
  };
}

/** `[limits]`: calls refused with 503 above them; 0 is no limit. */
export interface LimitsConfig {
  readonly calls: number;
  readonly callsPerSecond: number;
}

export interface Config {
  /** Where the config came from (file path or "<default>"), for messages. */
  readonly source: string;
  readonly external: InterfaceConfig;
  readonly internal: InterfaceConfig;
  readonly media: MediaConfig;
  readonly pbx: PbxConfig;
  readonly limits: LimitsConfig;
  readonly sip: SipConfig;
  readonly routing: { readonly script: string | undefined };
  readonly admin: {
    readonly listen: { readonly host: string; readonly port: number } | undefined;
    /** File with the bearer token; undefined: no token (loopback or internal only). */
    readonly tokenFile: string | undefined;
    /** `/metrics` needs no token. */
    readonly metricsOpen: boolean;
  };
}
