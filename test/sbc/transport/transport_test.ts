// Transport on real loopback sockets: what arrives, where replies go, and idle TCP clean-up.
import assert from "node:assert/strict";
import { type Inbound, Transport } from "../../../sbc/transport/transport.ts";

const HOST = "127.0.3.1";
const PORT = 41700;
const OPTIONS = "OPTIONS sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n";
const enc = new TextEncoder();
const dec = new TextDecoder();

function startTransport(onMessage: (i: Inbound) => void, tcpIdleTimeout = 60_000): Transport {
  const transport = new Transport({
    sockets: [
      { side: "external", address: { proto: "udp", host: HOST, port: PORT } },
      { side: "external", address: { proto: "tcp", host: HOST, port: PORT } },
    ],
    tcpIdleTimeout,
  });
  transport.start(onMessage);
  return transport;
}

function waitFor<T>(get: () => T | undefined, ms = 2000): Promise<T> {
  const until = performance.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = () => {
      const v = get();
      if (v !== undefined) return resolve(v);
      if (performance.now() > until) return reject(new Error("Timed out waiting"));
      setTimeout(poll, 10);
    };
    poll();
  });
}

Deno.test("Transport delivers a UDP datagram with its source and sends from the same socket", async () => {
  let got: Inbound | undefined;
  let text = "";
  const transport = startTransport((i) => {
    got = i;
    text = dec.decode(i.data); // the buffer is reused: read it during the call
  });
  const peer = Deno.listenDatagram({ transport: "udp", hostname: "127.0.3.10", port: PORT + 1 });
  try {
    await peer.send(enc.encode(OPTIONS), { transport: "udp", hostname: HOST, port: PORT });
    const inbound = await waitFor(() => got);
    assert.equal(text, OPTIONS);
    assert.deepEqual(inbound.source, { host: "127.0.3.10", port: PORT + 1 });
    assert.equal(inbound.proto, "udp");
    assert.equal(inbound.side, "external");
    assert.ok(
      await transport.send(
        { side: "external", proto: "udp", dest: inbound.source, connection: undefined },
        enc.encode("pong"),
      ),
    );
    const [data, addr] = await peer.receive();
    assert.equal(dec.decode(data), "pong");
    assert.equal((addr as Deno.NetAddr).hostname, HOST);
    assert.equal((addr as Deno.NetAddr).port, PORT);
  } finally {
    peer.close();
    await transport.close();
  }
});

Deno.test("Transport frames TCP messages split across writes and replies over the same connection", async () => {
  const got: string[] = [];
  let first: Inbound | undefined;
  const transport = startTransport((i) => {
    got.push(dec.decode(i.data));
    first ??= i;
  });
  const conn = await Deno.connect({ hostname: HOST, port: PORT });
  try {
    const bytes = enc.encode(OPTIONS + "\r\n\r\n" + OPTIONS);
    await conn.write(bytes.subarray(0, 20));
    await new Promise((r) => setTimeout(r, 20));
    await conn.write(bytes.subarray(20));
    await waitFor(() => got.length === 2 ? true : undefined);
    assert.deepEqual(got, [OPTIONS, OPTIONS]);
    const inbound = first!;
    assert.equal(inbound.proto, "tcp");
    const sent = await transport.send(
      { side: "external", proto: "tcp", dest: inbound.source, connection: inbound.connection },
      enc.encode("pong"),
    );
    assert.ok(sent);
    const buf = new Uint8Array(16);
    const n = await conn.read(buf);
    assert.equal(dec.decode(buf.subarray(0, n ?? 0)), "pong");
  } finally {
    conn.close();
    await transport.close();
  }
});

Deno.test("Transport closes an idle TCP connection after the idle timeout", async () => {
  const transport = startTransport(() => {}, 200);
  const conn = await Deno.connect({ hostname: HOST, port: PORT });
  try {
    await conn.write(enc.encode(OPTIONS));
    await waitFor(() => transport.stats().tcpConnections === 1 ? true : undefined);
    // the SBC closes its side: the read sees EOF
    const n = await conn.read(new Uint8Array(16));
    assert.equal(n, null);
    assert.equal(transport.stats().tcpConnections, 0);
  } finally {
    conn.close();
    await transport.close();
  }
});

Deno.test("Transport closes a TCP connection that sends a message without Content-Length", async () => {
  const transport = startTransport(() => {});
  const conn = await Deno.connect({ hostname: HOST, port: PORT });
  try {
    await conn.write(enc.encode("OPTIONS sip:x SIP/2.0\r\nVia: x\r\n\r\n"));
    assert.equal(await conn.read(new Uint8Array(16)), null);
  } finally {
    conn.close();
    await transport.close();
  }
});
