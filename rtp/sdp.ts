/**
 * SDP (RFC 4566) parse and rewrite for the relay, on top of sdp-transform. Pure: no I/O.
 *
 * Rewrite rules (rtpproxy bridge mode, with the choices edgesbc makes):
 * - every active m= port becomes the relay port chosen for that stream; port 0 (a rejected stream,
 *   RFC 3264 §6) stays 0;
 * - every media-level c= becomes the relay address;
 * - the session-level c= is rewritten when some m= line has no c= of its own (it is that stream's
 *   address: leaving it would send media around the relay, and rtpproxy rewrites it in that case
 *   too), or always with flag `c`;
 * - a null address (0.0.0.0 or ::, RFC 2543 hold) is kept so hold survives the rewrite;
 * - `a=rtcp:` (RFC 3605) follows the RTP port: RTP port + 1, or the RTP port itself when it already
 *   equalled it (rtcp-mux, RFC 5761); its address becomes the relay address;
 * - the o= address is rewritten with flag `o`; the rest of the o= line is kept byte for byte
 *   (sdp-transform would round a session version above 2^53);
 * - where SRTP ends at the relay (rtp/srtp_media.ts), an m= line's profile and `a=crypto` lines
 *   are replaced by the relay's.
 *
 * @module
 */

import * as transform from "sdp-transform";

export const DIRECTION = {
  sendrecv: "sendrecv",
  sendonly: "sendonly",
  recvonly: "recvonly",
  inactive: "inactive",
} as const;
export type Direction = typeof DIRECTION[keyof typeof DIRECTION];

function isDirection(v: unknown): v is Direction {
  return v === "sendrecv" || v === "sendonly" || v === "recvonly" || v === "inactive";
}

/** One m= line as the relay needs it. */
export interface SdpStream {
  /** Position of the m= line, from 0: the stream's identity across offer and answer. */
  readonly index: number;
  /** "audio", "video", ... */
  readonly type: string;
  readonly protocol: string;
  /** RTP port; 0 = rejected or disabled stream. */
  readonly port: number;
  /** Effective connection address (media-level c=, else session-level); "" when none. */
  readonly address: string;
  /** Media-level direction attribute, else session-level, else sendrecv (RFC 3264 §5.1). */
  readonly direction: Direction;
  /** `a=rtcp-mux` present (RFC 5761). */
  readonly rtcpMux: boolean;
  /** Where RTCP goes: `a=rtcp:` port (RFC 3605), else port + 1. */
  readonly rtcpPort: number;
  /** `a=rtcp:` address, else `address`. */
  readonly rtcpAddress: string;
  /** Address is 0.0.0.0 or :: (RFC 2543 hold): media must not be sent there. */
  readonly nullAddress: boolean;
  /** On hold: not sendrecv, or a null address. */
  readonly hold: boolean;
  /** `a=crypto` values (RFC 4568), as written after `a=crypto:`, in order. */
  readonly crypto: readonly string[];
}

/** An m= line's profile and `a=crypto` values as the relay sends them (SRTP ended here). */
export interface StreamSecurity {
  readonly protocol: string;
  readonly crypto: readonly string[];
}

/** A connection line as sdp-transform models it. */
interface TreeConnection {
  version: number;
  ip: string;
}

interface TreeMedia {
  type: string;
  port: number;
  protocol: string;
  connection?: TreeConnection;
  rtcp?: { port: number; netType?: string; ipVer?: number; address?: string };
  rtcpMux?: string;
  direction?: string;
  crypto?: TreeCrypto[];
}

/** `a=crypto:<id> <suite> <config> [<sessionConfig>]` as sdp-transform models it. */
interface TreeCrypto {
  id: number;
  suite: string;
  config: string;
  sessionConfig?: string;
}

/** The sdp-transform session object (only the fields edgesbc reads or writes are typed). */
export interface SdpTree {
  origin?: { address: string; ipVer: number };
  crypto?: TreeCrypto[];
  connection?: TreeConnection;
  direction?: string;
  media: TreeMedia[];
}

export interface Sdp {
  readonly streams: readonly SdpStream[];
  /** Carries `a=nortpproxy:yes` on a line of its own (set by an rtpproxy upstream). */
  readonly nortpproxy: boolean;
  /** The o= line exactly as received; "" when absent. */
  readonly originLine: string;
  readonly tree: SdpTree;
}

export const SDP_ERROR = {
  notSdp: "SDP_NOT_SDP",
  noMedia: "SDP_NO_MEDIA",
  badPort: "SDP_BAD_PORT",
  noAddress: "SDP_NO_ADDRESS",
} as const;
export type SdpErrorCode = typeof SDP_ERROR[keyof typeof SDP_ERROR];

export interface SdpError {
  readonly code: SdpErrorCode;
  readonly message: string;
}

export type SdpResult =
  | { readonly ok: true; readonly value: Sdp }
  | { readonly ok: false; readonly error: SdpError };

const NORTPPROXY = /[\r\n]a=nortpproxy:yes/;

/** True for the hold addresses 0.0.0.0 and :: (also spelled 0:0:0:0:0:0:0:0). */
export function isNullAddress(address: string): boolean {
  return address === "0.0.0.0" || /^[0:]+$/.test(address) && address.includes(":");
}

/** Parses an SDP body; a body the relay cannot work with is an error value, never a throw. */
export function parseSdp(body: string): SdpResult {
  if (!/^\s*v=/.test(body)) {
    return fail(SDP_ERROR.notSdp, "Cannot parse SDP: body does not start with v=");
  }
  let tree: SdpTree;
  try {
    tree = transform.parse(body) as SdpTree;
  } catch (e) {
    return fail(SDP_ERROR.notSdp, `Cannot parse SDP: ${e instanceof Error ? e.message : e}`);
  }
  if (!Array.isArray(tree.media) || tree.media.length === 0) {
    return fail(SDP_ERROR.noMedia, "Cannot parse SDP: no m= line");
  }
  const sessionAddress = tree.connection?.ip ?? "";
  const crypto = cryptoLines(body);
  const sessionDirection = isDirection(tree.direction) ? tree.direction : DIRECTION.sendrecv;
  const streams: SdpStream[] = [];
  for (let index = 0; index < tree.media.length; index++) {
    const m = tree.media[index]!;
    const port = m.port;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      return fail(SDP_ERROR.badPort, `Cannot parse SDP m= line ${index + 1}: port is not valid`);
    }
    const address = m.connection?.ip ?? sessionAddress;
    if (port !== 0 && address === "") {
      return fail(SDP_ERROR.noAddress, `Cannot parse SDP m= line ${index + 1}: no c= address`);
    }
    const direction = isDirection(m.direction) ? m.direction : sessionDirection;
    const nullAddress = address !== "" && isNullAddress(address);
    const rtcpPort = Number.isInteger(m.rtcp?.port) && m.rtcp!.port > 0 ? m.rtcp!.port : port + 1;
    streams.push({
      index,
      type: String(m.type),
      protocol: String(m.protocol),
      port,
      address,
      direction,
      rtcpMux: m.rtcpMux !== undefined,
      rtcpPort,
      rtcpAddress: m.rtcp?.address ?? address,
      nullAddress,
      hold: nullAddress || direction !== DIRECTION.sendrecv,
      crypto: crypto[index] ?? [],
    });
  }
  const origin = /^o=.*$/m.exec(body);
  return {
    ok: true,
    value: {
      streams,
      nortpproxy: NORTPPROXY.test(body),
      originLine: origin ? origin[0] : "",
      tree,
    },
  };
}

export interface RewriteOptions {
  /** Relay address facing the receiver of this SDP. */
  readonly address: string;
  /** New RTP port per m= index; undefined leaves that m= port as it is. */
  readonly ports: readonly (number | undefined)[];
  /** Flag `c`: rewrite the session-level c= even when every m= line has its own. */
  readonly sessionConnection: boolean;
  /** Flag `o`: rewrite the o= address. */
  readonly origin: boolean;
  /** Profile and `a=crypto` per m= index where SRTP ends here; undefined keeps the line's. */
  readonly security?: readonly (StreamSecurity | undefined)[];
}

/** Serializes `sdp` with the relay address and ports in place of the sender's (rules above). */
export function rewriteSdp(sdp: Sdp, options: RewriteOptions): string {
  const tree = structuredClone(sdp.tree);
  const { address } = options;
  const version = address.includes(":") ? 6 : 4;
  let sessionUsed = false;
  for (let i = 0; i < tree.media.length; i++) {
    const m = tree.media[i]!;
    const port = options.ports[i];
    if (port !== undefined && m.port !== 0) {
      if (m.rtcp) {
        m.rtcp.port = m.rtcp.port === m.port ? port : port + 1;
        if (m.rtcp.address !== undefined && !isNullAddress(m.rtcp.address)) {
          m.rtcp.address = address;
          m.rtcp.ipVer = version;
          m.rtcp.netType = "IN";
        }
      }
      m.port = port;
    }
    const security = options.security?.[i];
    if (security !== undefined) {
      // A rejected line keeps its profile (it must match the offer's); keys go all the same.
      if (m.port !== 0) m.protocol = security.protocol;
      if (security.crypto.length === 0) delete m.crypto;
      else m.crypto = security.crypto.map(treeCrypto);
    }
    if (m.connection === undefined) sessionUsed = true;
    else if (!isNullAddress(m.connection.ip)) m.connection = { version, ip: address };
  }
  if (
    tree.connection && (sessionUsed || options.sessionConnection) &&
    !isNullAddress(tree.connection.ip)
  ) {
    tree.connection = { version, ip: address };
  }
  // Where SRTP ends here, no key but the relay's crosses, session-level ones included.
  if (options.security !== undefined) delete tree.crypto;
  const out = transform.write(tree) as string;
  if (sdp.originLine === "") return out;
  // Keep the o= line as received except, with flag `o`, its address (last two tokens).
  const line = options.origin
    ? sdp.originLine.replace(/ IN IP[46] \S+\s*$/, ` IN IP${version} ${address}`)
    : sdp.originLine;
  return out.replace(/^o=.*$/m, () => line);
}

/**
 * The `a=crypto` values of each m= section, read from the text: sdp-transform keeps one session
 * parameter of each, and a parameter it dropped could not be refused (rtp/srtp/sdes.ts).
 */
function cryptoLines(body: string): string[][] {
  return body.split(/\r?\n(?=m=)/).slice(1).map((section) =>
    [...section.matchAll(/^a=crypto:([^\r\n]*)/gm)].map((m) => m[1]!.trim())
  );
}

/** An `a=crypto` value back into sdp-transform's shape. */
function treeCrypto(value: string): TreeCrypto {
  const [id = "", suite = "", config = "", ...rest] = value.split(" ");
  return {
    id: Number(id),
    suite,
    config,
    ...(rest.length > 0 && { sessionConfig: rest.join(" ") }),
  };
}

function fail(code: SdpErrorCode, message: string): SdpResult {
  return { ok: false, error: { code, message } };
}
