import assert from "node:assert/strict";
import {
  BACKEND,
  type BackendName,
  type DatagramBackend,
  type Forwarder,
  type RelaySocket,
} from "../../../rtp/packet/backend.ts";
import { openBackend } from "../../../rtp/packet/open_backend.ts";

const RELAY = "127.0.1.1";
const PEER = "127.0.1.30";
// outside relay_test.ts's range, so the files may run in parallel
const PORTS = { a: 41100, b: 41102, peerA: 41104, peerB: 41106 };

function udp(hostname: string, port: number): Deno.NetAddr & { transport: "udp" } {
  return { transport: "udp", hostname, port };
}

/** Receives one datagram or gives up after `ms`. */
async function receiveOne(
  conn: Deno.DatagramConn,
  ms = 1000,
): Promise<[Uint8Array, Deno.NetAddr] | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), ms));
  const got = await Promise.race([conn.receive(), timeout]);
  clearTimeout(timer);
  return got === undefined ? undefined : [got[0], got[1] as Deno.NetAddr];
}

/** Closes both sockets and waits until their ports are free. */
function closeAll(sockets: RelaySocket[]): Promise<void> {
  return Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(r)))).then(() => {});
}

// The same cases against each backend (style bullet 16: interchangeable implementations).
for (const name of [BACKEND.ffi, BACKEND.deno] as BackendName[]) {
  Deno.test(`${name} backend forwards a datagram as received through the paired socket`, async () => {
    const backend: DatagramBackend = openBackend([RELAY], name);
    assert.equal(backend.name, name);
    const a = backend.bind(RELAY, PORTS.a);
    const b = backend.bind(RELAY, PORTS.b);
    const peerA = Deno.listenDatagram(udp(PEER, PORTS.peerA));
    const peerB = Deno.listenDatagram(udp(PEER, PORTS.peerB));
    const seen: { source: string; bytes: number }[] = [];
    let failed = 0;
    // Forwards as received, except a 200-byte datagram, which gets 10 bytes appended in place
    // (as SRTP's trailer is): the room past a datagram is the backend's promise.
    const toPeerB = {
      sendLength: 0,
      forward: (source: Deno.NetAddr, packet: Uint8Array, bytes: number) => {
        seen.push({ source: `${source.hostname}:${source.port}`, bytes });
        toPeerB.sendLength = bytes;
        if (bytes === 200) {
          packet.fill(0xee, bytes, bytes + 10);
          toPeerB.sendLength = bytes + 10;
        }
        return udp(PEER, PORTS.peerB);
      },
      sendFailed: (n: number) => failed += n,
    };
    const drop: Forwarder = { sendLength: 0, forward: () => null, sendFailed: (n) => failed += n };
    try {
      a.start(toPeerB, b);
      b.start(drop, a);
      const payload = new Uint8Array(172).map((_, i) => i);
      await peerA.send(payload, udp(RELAY, PORTS.a));
      const got = await receiveOne(peerB);
      assert.ok(got, "nothing arrived at peer B");
      assert.deepEqual(got[0], payload);
      // it leaves from b's port, the relay's socket facing B
      assert.equal(got[1].port, PORTS.b);
      assert.deepEqual(seen, [{ source: `${PEER}:${PORTS.peerA}`, bytes: 172 }]);
      await peerA.send(new Uint8Array(200).fill(1), udp(RELAY, PORTS.a));
      const grown = await receiveOne(peerB);
      assert.deepEqual(
        grown?.[0],
        Uint8Array.from([...Array(200).fill(1), ...Array(10).fill(0xee)]),
      );
      // b drops what it gets: nothing reaches A
      await peerB.send(payload, udp(RELAY, PORTS.b));
      assert.equal(await receiveOne(peerA, 200), undefined);
      assert.equal(failed, 0);
    } finally {
      peerA.close();
      peerB.close();
      await closeAll([a, b]);
      backend.close();
    }
  });

  Deno.test(`${name} backend bind() throws AddrInUse and close() frees the port`, async () => {
    const backend = openBackend([RELAY], name);
    const a = backend.bind(RELAY, PORTS.a);
    const b = backend.bind(RELAY, PORTS.b);
    try {
      assert.throws(() => backend.bind(RELAY, PORTS.a), Deno.errors.AddrInUse);
      const drop: Forwarder = { sendLength: 0, forward: () => null, sendFailed: () => {} };
      a.start(drop, b);
      b.start(drop, a);
    } finally {
      await closeAll([a, b]);
    }
    // once onFree has run the port binds again
    const again = backend.bind(RELAY, PORTS.a);
    await closeAll([again]);
    backend.close();
  });
}

Deno.test("openBackend() uses FFI under --allow-ffi, and Deno sockets for IPv6", () => {
  const ffi = openBackend(["127.0.1.1", "127.0.2.1"]);
  const v6 = openBackend(["127.0.1.1", "::1"]);
  try {
    assert.equal(ffi.name, BACKEND.ffi);
    assert.equal(v6.name, BACKEND.deno);
  } finally {
    ffi.close();
    v6.close();
  }
});

Deno.test("openBackend() falls back to Deno sockets without --allow-ffi", async () => {
  const probe = new URL("./_backend_probe.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", "--allow-net", "--no-prompt", probe],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  assert.equal(new TextDecoder().decode(out.stdout).trim(), BACKEND.deno);
});
