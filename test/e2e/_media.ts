/**
 * Media end-to-end helpers: an RTP peer in Deno for what sipp cannot check exactly (a NATed source
 * port, video, packet counts per stream), SDP building and reading, a loopback capture with
 * tshark, the admin API's media view, and the SBC configs the media tests need. The SIP side of
 * those peers is in _sip_peer.ts.
 */
import { ADDRESS, adminGet, type Ports, sleep, timer } from "./_harness.ts";

// ---------------------------------------------------------------- config

export interface SideOptions {
  flags?: string;
  advertise?: string;
  /** The side's `networks` (the inside's, for the boundary and topology hiding). */
  networks?: readonly string[];
  /** `nat_ping` seconds (issue 11's NAT keepalives) */
  natPing?: number;
  /** `srtp` mode */
  srtp?: "off" | "optional" | "mandatory";
}

export interface MediaConfigOptions {
  /** [media] ports; default the block's range */
  mediaRange?: readonly [number, number];
  timeout?: number;
  holdTimeout?: number;
  offerTimeout?: number;
  external?: SideOptions;
  internal?: SideOptions;
  /** SIP over TCP too, on both interfaces */
  tcp?: boolean;
  /** SIP over TLS on the external interface (port `sbcTls`), with these files */
  tls?: { cert: string; key: string; ca?: string; verifyClient?: boolean };
}

/** The e2e topology of `sbcConfig()` with the media keys a test needs set. */
export function mediaConfig(ports: Ports, options: MediaConfigOptions = {}): string {
  const side = (o: SideOptions | undefined) =>
    (o?.flags !== undefined ? `flags = "${o.flags}"\n` : "") +
    (o?.advertise !== undefined ? `advertise = "${o.advertise}"\n` : "") +
    (o?.networks !== undefined ? `networks = ${JSON.stringify(o.networks)}\n` : "") +
    (o?.natPing !== undefined ? `nat_ping = ${o.natPing}\n` : "") +
    (o?.srtp !== undefined ? `srtp = "${o.srtp}"\n` : "");
  const sip = (host: string) =>
    JSON.stringify([
      `udp:${host}:${ports.sbc}`,
      ...(options.tcp ? [`tcp:${host}:${ports.sbc}`] : []),
    ]);
  const [min, max] = options.mediaRange ?? ports.mediaRange;
  const optional = (key: string, value: number | undefined) =>
    value === undefined ? "" : `${key} = ${value}\n`;
  const { tls } = options;
  const external = [
    `udp:${ADDRESS.external}:${ports.sbc}`,
    ...(options.tcp ? [`tcp:${ADDRESS.external}:${ports.sbc}`] : []),
    ...(tls ? [`tls:${ADDRESS.external}:${ports.sbcTls}`] : []),
  ];
  const tlsTable = tls
    ? `[interfaces.external.tls]\ncert = "${tls.cert}"\nkey = "${tls.key}"\n` +
      (tls.ca ? `ca = "${tls.ca}"\n` : "") +
      (tls.verifyClient ? "verify_client = true\n" : "")
    : "";
  return `[interfaces.external]
role = "external"
sip = ${JSON.stringify(external)}
media = "${ADDRESS.external}"
${side(options.external)}${tlsTable}
[interfaces.internal]
role = "internal"
sip = ${sip(ADDRESS.internal)}
media = "${ADDRESS.internal}"
${side(options.internal)}
[media]
ports = [${min}, ${max}]
timeout = ${options.timeout ?? 60}
${optional("hold_timeout", options.holdTimeout)}${optional("offer_timeout", options.offerTimeout)}
[pbx]
address = "udp:${ADDRESS.pbx}:${ports.pbx}"

[pbx.health]
interval = 0

[admin]
listen = "${ADDRESS.admin}:${ports.admin}"
`;
}

// ---------------------------------------------------------------- admin

/** `media` of GET /api/stats. */
export interface MediaStats {
  portsInUse: number;
  portsFree: number;
  sessions: number;
  streams: number;
  packetsRelayed: number;
  bytesRelayed: number;
  drops: number;
  offersRefused: number;
}

export async function mediaStats(ports: Ports): Promise<MediaStats> {
  const stats = await adminGet(ports, "/api/stats") as { media: MediaStats };
  return stats.media;
}

/** One entry of GET /api/calls (rtp/session.ts `CallInfo`), as far as the tests read it. */
export interface MediaCall {
  callId: string;
  state: string;
  streams: {
    index: number;
    type: string;
    hold: boolean;
    /** [caller leg, callee leg] */
    legs: {
      role: string;
      localPort: number;
      peer: string | null;
      latched: string | null;
      symmetric: boolean;
      packets: number;
      drops: number;
    }[];
  }[];
}

export async function mediaCalls(ports: Ports): Promise<MediaCall[]> {
  return await adminGet(ports, "/api/calls") as MediaCall[];
}

/** Polls /api/stats every 50 ms until `predicate` holds; throws with the last stats on timeout. */
export async function waitForMediaStats(
  ports: Ports,
  predicate: (media: MediaStats) => boolean,
  what: string,
  timeoutMs = 3_000,
): Promise<MediaStats> {
  const deadline = Date.now() + timeoutMs;
  let last = await mediaStats(ports);
  while (!predicate(last)) {
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${timeoutMs} ms; media stats ${JSON.stringify(last)}`);
    }
    await sleep(50);
    last = await mediaStats(ports);
  }
  return last;
}

// ---------------------------------------------------------------- RTP

/** One datagram an `RtpEndpoint` received, read as RTP (RFC 3550 §5.1). */
export interface RtpPacket {
  /** "host:port" it came from */
  from: string;
  ssrc: number;
  seq: number;
  payloadType: number;
  size: number;
}

export interface UdpAddress {
  hostname: string;
  port: number;
}

export interface SendOptions {
  ssrc: number;
  count: number;
  payloadType?: number;
  /** payload bytes after the 12-byte header */
  payloadSize?: number;
  firstSeq?: number;
  /** pause between packets; 0 sends back to back */
  intervalMs?: number;
}

/** A UDP socket that sends numbered RTP packets and records every datagram it receives. */
export class RtpEndpoint {
  readonly received: RtpPacket[] = [];
  readonly #conn: Deno.DatagramConn;
  readonly #loop: Promise<void>;
  #arrival: (() => void) | undefined;

  constructor(hostname: string, port: number) {
    this.#conn = Deno.listenDatagram({ transport: "udp", hostname, port });
    this.#loop = this.#receive();
  }

  get address(): UdpAddress {
    const { hostname, port } = this.#conn.addr as Deno.NetAddr;
    return { hostname, port };
  }

  async #receive(): Promise<void> {
    for (;;) {
      let bytes: Uint8Array;
      let from: Deno.NetAddr;
      try {
        const [data, addr] = await this.#conn.receive();
        bytes = data;
        from = addr as Deno.NetAddr;
      } catch {
        return; // closed
      }
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      this.received.push({
        from: `${from.hostname}:${from.port}`,
        payloadType: bytes.byteLength >= 2 ? bytes[1]! & 0x7f : -1,
        seq: bytes.byteLength >= 4 ? view.getUint16(2) : -1,
        ssrc: bytes.byteLength >= 12 ? view.getUint32(8) : -1,
        size: bytes.byteLength,
      });
      this.#arrival?.();
    }
  }

  /** Sends `count` RTP packets with consecutive sequence numbers to `to`. */
  async send(to: UdpAddress, options: SendOptions): Promise<void> {
    const size = 12 + (options.payloadSize ?? 160);
    for (let i = 0; i < options.count; i++) {
      const packet = new Uint8Array(size);
      const view = new DataView(packet.buffer);
      packet[0] = 0x80; // V=2
      packet[1] = (options.payloadType ?? 8) & 0x7f;
      view.setUint16(2, ((options.firstSeq ?? 1) + i) & 0xffff);
      view.setUint32(4, i * 160);
      view.setUint32(8, options.ssrc);
      packet.fill(0xd5, 12); // A-law silence
      await this.#conn.send(packet, { transport: "udp", ...to });
      if (options.intervalMs) await sleep(options.intervalMs);
    }
  }

  /** Packets of one SSRC, in arrival order. */
  from(ssrc: number): RtpPacket[] {
    return this.received.filter((p) => p.ssrc === ssrc);
  }

  /** Waits until `predicate` holds over everything received so far. */
  async waitFor(
    predicate: (received: RtpPacket[]) => boolean,
    what: string,
    timeoutMs = 2_000,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.received)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `${what}: not within ${timeoutMs} ms at ${this.address.hostname}:${this.address.port}; ` +
            `received ${describePackets(this.received)}`,
        );
      }
      await new Promise<void>((resolve) => {
        const id = setTimeout(resolve, left);
        this.#arrival = () => {
          clearTimeout(id);
          resolve();
        };
      });
      this.#arrival = undefined;
    }
  }

  /** Waits until `count` packets of `ssrc` arrived, all from `source` ("host:port" or a RegExp). */
  async expectStream(
    ssrc: number,
    count: number,
    source: string | RegExp,
    what: string,
    timeoutMs = 2_000,
  ): Promise<RtpPacket[]> {
    await this.waitFor((r) => r.filter((p) => p.ssrc === ssrc).length >= count, what, timeoutMs);
    const packets = this.from(ssrc);
    const wrong = packets.filter((p) =>
      typeof source === "string" ? p.from !== source : !source.test(p.from)
    );
    if (wrong.length > 0) {
      throw new Error(`${what}: packets from ${describePackets(wrong)}, expected from ${source}`);
    }
    return packets;
  }

  async close(): Promise<void> {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    await this.#loop;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** "n × host:port ssrc=…" groups, for assertion messages. */
export function describePackets(packets: readonly RtpPacket[]): string {
  const groups = new Map<string, number>();
  for (const p of packets) {
    const key = `${p.from} ssrc=${p.ssrc.toString(16)}`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  return packets.length === 0
    ? "nothing"
    : [...groups].map(([key, n]) => `${n} × ${key}`).join(", ");
}

// ---------------------------------------------------------------- SDP

export interface MediaLine {
  type: "audio" | "video";
  port: number;
  payloadType?: number;
  direction?: "sendrecv" | "sendonly" | "recvonly" | "inactive";
  /** media-level c= (besides the session-level one) */
  connection?: string;
  /** a=rtcp:PORT IN IP4 ADDRESS (RFC 3605) */
  rtcp?: { port: number; address: string };
}

export interface SdpOptions {
  /** session-level c= and o= address */
  address: string;
  /** o= session version; bump it for each new offer (RFC 3264 §8) */
  version?: number;
  media: MediaLine[];
}

/** An SDP body with CRLF line ends. */
export function sdpBody(options: SdpOptions): string {
  const lines = [
    "v=0",
    `o=- 4242 ${options.version ?? 1} IN IP4 ${options.address}`,
    "s=edgesbc-e2e",
    `c=IN IP4 ${options.address}`,
    "t=0 0",
  ];
  for (const m of options.media) {
    const pt = m.payloadType ?? (m.type === "audio" ? 8 : 96);
    lines.push(`m=${m.type} ${m.port} RTP/AVP ${pt}`);
    if (m.connection) lines.push(`c=IN IP4 ${m.connection}`);
    lines.push(m.type === "audio" ? `a=rtpmap:${pt} PCMA/8000` : `a=rtpmap:${pt} H264/90000`);
    if (m.rtcp) lines.push(`a=rtcp:${m.rtcp.port} IN IP4 ${m.rtcp.address}`);
    if (m.direction) lines.push(`a=${m.direction}`);
  }
  return lines.join("\r\n") + "\r\n";
}

export interface SdpMediaView {
  type: string;
  port: number;
  /** media-level c= address, else the session-level one */
  connection: string | undefined;
  direction: string;
  rtcp: { port: number; address: string | undefined } | undefined;
}

export interface SdpView {
  origin: string | undefined;
  sessionConnection: string | undefined;
  media: SdpMediaView[];
  /** every address written in o=, c= and a=rtcp lines */
  addresses: string[];
}

/** The port of each m= line of an SDP: the relay's, in an SDP the SBC rewrote. */
export function relayPorts(body: string): number[] {
  return viewSdp(body).media.map((m) => m.port);
}

/** Reads the addresses and ports out of an SDP body (a test's view; no validation). */
export function viewSdp(body: string): SdpView {
  const lines = body.split(/\r?\n/);
  const view: SdpView = {
    origin: undefined,
    sessionConnection: undefined,
    media: [],
    addresses: [],
  };
  let current: SdpMediaView | undefined;
  for (const line of lines) {
    let match: RegExpExecArray | null;
    if ((match = /^o=.* IN IP[46] (\S+)$/.exec(line))) {
      view.origin = match[1]!;
      view.addresses.push(match[1]!);
    } else if ((match = /^c=IN IP[46] (\S+)$/.exec(line))) {
      view.addresses.push(match[1]!);
      if (current) current.connection = match[1]!;
      else view.sessionConnection = match[1]!;
    } else if ((match = /^m=(\S+) (\d+) /.exec(line))) {
      current = {
        type: match[1]!,
        port: Number(match[2]),
        connection: view.sessionConnection,
        direction: "sendrecv",
        rtcp: undefined,
      };
      view.media.push(current);
    } else if ((match = /^a=rtcp:(\d+)(?: IN IP[46] (\S+))?$/.exec(line)) && current) {
      current.rtcp = { port: Number(match[1]), address: match[2] };
      if (match[2]) view.addresses.push(match[2]);
    } else if ((match = /^a=(sendrecv|sendonly|recvonly|inactive)$/.exec(line)) && current) {
      current.direction = match[1]!;
    }
  }
  return view;
}

// ---------------------------------------------------------------- capture

/** One UDP datagram tshark saw on `lo`. */
export interface CapturedPacket {
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  /** UDP length (header + payload) */
  length: number;
  /** "" when tshark did not read it as RTP */
  ssrc: string;
  seq: number;
}

export interface Capture {
  /** stops tshark (SIGINT, then SIGKILL after 5 s) and returns what it printed */
  stop(): Promise<CapturedPacket[]>;
}

/**
 * Runs tshark on `lo` with a capture `filter`, bounded by `-a duration:maxSeconds`, and resolves
 * once it captures (it says so on stderr).
 */
export async function startCapture(filter: string, maxSeconds: number): Promise<Capture> {
  const child = new Deno.Command("tshark", {
    args: [
      ...["-i", "lo", "-n", "-l", "-q"],
      ...["-f", filter],
      ...["-a", `duration:${maxSeconds}`],
      ...["-o", "rtp.heuristic_rtp:TRUE"],
      ...["-T", "fields", "-E", "separator=,"],
      ...["-e", "ip.src", "-e", "udp.srcport", "-e", "ip.dst", "-e", "udp.dstport"],
      ...["-e", "udp.length", "-e", "rtp.ssrc", "-e", "rtp.seq"],
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = new Response(child.stdout).text();
  let stderrText = "";
  let readyResolve!: () => void;
  const capturing = new Promise<void>((resolve) => readyResolve = resolve);
  const ready = (async () => {
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let said = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      stderrText += value;
      if (!said && stderrText.includes("Capturing on")) {
        said = true;
        readyResolve();
      }
    }
  })();
  let stopped: Promise<CapturedPacket[]> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      try {
        child.kill("SIGINT");
      } catch {
        // already exited (duration reached)
      }
      const late = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // exited
        }
      }, 5_000);
      await child.status;
      clearTimeout(late);
      await ready;
      return parseCapture(await stdout);
    })();
  const timeout = timer(10_000, "timeout" as const);
  const first = await Promise.race([
    capturing.then(() => "ready" as const),
    child.status.then(() => "exited" as const),
    timeout.promise,
  ]);
  timeout.clear();
  if (first !== "ready") {
    await stop();
    throw new Error(`tshark did not start capturing (${first}): ${stderrText.trim()}`);
  }
  return { stop };
}

function parseCapture(text: string): CapturedPacket[] {
  return text.split("\n").filter((line) => line.trim() !== "").map((line) => {
    const [src, srcPort, dst, dstPort, length, ssrc, seq] = line.split(",");
    return {
      src: src ?? "",
      srcPort: Number(srcPort),
      dst: dst ?? "",
      dstPort: Number(dstPort),
      length: Number(length),
      ssrc: ssrc ?? "",
      seq: Number(seq),
    };
  });
}
