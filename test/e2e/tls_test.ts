// SIP over TLS on the external interface (issue "The external side speaks to the internet", part
// 2), with a node:tls phone and certificates the test makes (openssl, a throw-away CA): calls in
// and out across TLS and UDP, certificates swapped by SIGHUP under a live call, mutual TLS.
import assert from "node:assert/strict";
import { ADDRESS, adminGet, type Ports, type Sbc, sleep, usingPorts, withSbc } from "./_harness.ts";
import { mediaConfig, sdpBody } from "./_media.ts";
import { natCalls, PRIVATE } from "./_nat_calls.ts";
import { establishCall, hangUp, isResponse, SipEndpoint, SipStreamEndpoint } from "./_sip_peer.ts";
import { makeTlsCerts } from "./_tls_certs.ts";

const tlsAddress = (ports: Ports) => ({ host: ADDRESS.external, port: ports.sbcTls });

/** A TLS phone trusting `ca`; with `client`, it presents that certificate. */
function tlsPhone(
  ports: Ports,
  ca: string,
  client?: { cert: string; key: string },
): Promise<SipStreamEndpoint> {
  return SipStreamEndpoint.connect(ADDRESS.phone, tlsAddress(ports), {
    tls: { ca, ...client },
  });
}

/** Whether an OPTIONS over a fresh TLS connection is answered (the handshake held). */
async function answersOptions(
  ports: Ports,
  ca: string,
  client?: { cert: string; key: string },
): Promise<boolean> {
  let phone: SipStreamEndpoint;
  try {
    phone = await tlsPhone(ports, ca, client);
  } catch {
    return false; // handshake refused
  }
  try {
    const to = tlsAddress(ports);
    await phone.send(
      [
        `OPTIONS sip:${to.host}:${to.port};transport=tls SIP/2.0`,
        `Via: SIP/2.0/TLS ${phone.host}:${phone.port};branch=z9hG4bK-${crypto.randomUUID()}`,
        "Max-Forwards: 70",
        `From: <sip:probe@${phone.host}>;tag=probe`,
        `To: <sip:${to.host}>`,
        `Call-ID: ${crypto.randomUUID()}`,
        "CSeq: 1 OPTIONS",
        "Content-Length: 0",
        "",
        "",
      ].join("\r\n"),
      to,
    ).catch(() => {});
    await phone.expect(isResponse("OPTIONS", 1, 200, 699), "an answer", 2_000);
    return true;
  } catch {
    return false;
  } finally {
    await phone.close();
  }
}

async function waitForLog(sbc: Sbc, pattern: RegExp, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!pattern.test(await sbc.logs())) {
    if (Date.now() > deadline) throw new Error(`${what}: not in the SBC's log`);
    await sleep(50);
  }
}

Deno.test("a phone over TLS calls the PBX over UDP and is called back through its TLS connection", async () => {
  const ports = usingPorts(74);
  await using certs = await makeTlsCerts();
  const configToml = mediaConfig(ports, { tls: certs.server });
  await withSbc({ ports, configToml }, async () => {
    await using pbx = new SipEndpoint(ADDRESS.pbx, ports.pbx);
    await using phone = await tlsPhone(ports, certs.ca);
    const audio = (address: string, port: number) =>
      sdpBody({ address, media: [{ type: "audio", port }] });
    const call = await establishCall(
      phone,
      pbx,
      tlsAddress(ports),
      audio(ADDRESS.phone, ports.phoneMedia),
      audio(ADDRESS.pbx, ports.pbxMedia),
    );
    // Each side's Record-Route names the transport that side speaks (RFC 3261 §16.6 step 4).
    assert.deepEqual(call.caller.routeSet, [
      `<sip:${ADDRESS.external}:${ports.sbcTls};transport=tls;lr>`,
    ]);
    assert.match(
      call.callee.routeSet.join(","),
      new RegExp(`<sip:${ADDRESS.internal}:${ports.sbc};lr>`),
    );
    // The PBX hangs up: its BYE reaches the phone over the phone's TLS connection.
    await hangUp(call.callee, call.caller);
  });
});

Deno.test("a phone behind NAT over TLS: calls both ways with audio, the PBX's INVITE over its connection", async () => {
  const ports = usingPorts(75);
  await using certs = await makeTlsCerts();
  await withSbc({ ports, configToml: mediaConfig(ports, { tls: certs.server }) }, async () => {
    await using phone = await SipStreamEndpoint.connect(ADDRESS.phone, tlsAddress(ports), {
      tls: { ca: certs.ca },
      advertised: PRIVATE,
    });
    await natCalls(ports, phone, "TLS");
  });
});

Deno.test("SIGHUP swaps the TLS certificate for new connections; a call up keeps its connection", async () => {
  const ports = usingPorts(76);
  await using certs = await makeTlsCerts();
  const live = { cert: `${certs.dir}/live.pem`, key: `${certs.dir}/live.key` };
  const install = async (files: { cert: string; key: string }) => {
    await Deno.copyFile(files.cert, live.cert);
    await Deno.copyFile(files.key, live.key);
  };
  await install(certs.server);
  await withSbc({ ports, configToml: mediaConfig(ports, { tls: live }) }, async (sbc) => {
    await using pbx = new SipEndpoint(ADDRESS.pbx, ports.pbx);
    await using phone = await tlsPhone(ports, certs.ca);
    const sdp = (address: string, port: number) =>
      sdpBody({ address, media: [{ type: "audio", port }] });
    const call = await establishCall(
      phone,
      pbx,
      tlsAddress(ports),
      sdp(ADDRESS.phone, ports.phoneMedia),
      sdp(ADDRESS.pbx, ports.pbxMedia),
    );

    // A self-signed certificate replaces the CA's: a phone trusting only the CA refuses it.
    await install(certs.untrusted);
    sbc.hangUpSignal();
    await waitForLog(sbc, /TLS certificates reloaded/, "the reload");
    assert.equal(await answersOptions(ports, certs.ca), false, "the old certificate is gone");
    assert.equal(await answersOptions(ports, certs.untrusted.cert), true, "the new one serves");

    // An expired certificate is refused by the reload: the running one stays.
    await install(certs.expired);
    sbc.hangUpSignal();
    // The config file is checked again first: its expired certificate refuses the whole reload.
    await waitForLog(sbc, /Reload refused: .*tls\.cert: .*expired/, "the refused reload");
    assert.equal(
      await answersOptions(ports, certs.untrusted.cert),
      true,
      "still the last good one",
    );

    // The call set up before both reloads ends normally over its first connection.
    await hangUp(call.callee, call.caller);
    await hangUp(
      ...(await (async () => {
        const again = await establishCall(
          phone,
          pbx,
          tlsAddress(ports),
          sdp(ADDRESS.phone, ports.phoneMedia),
          sdp(ADDRESS.pbx, ports.pbxMedia),
        );
        return [again.caller, again.callee] as const;
      })()),
    );
  });
});

Deno.test("verify_client: a TLS client without a certificate from the CA is refused", async () => {
  const ports = usingPorts(77);
  await using certs = await makeTlsCerts();
  const tls = { ...certs.server, ca: certs.ca, verifyClient: true };
  await withSbc({ ports, configToml: mediaConfig(ports, { tls }) }, async () => {
    assert.equal(await answersOptions(ports, certs.ca), false, "no client certificate");
    assert.equal(
      await answersOptions(ports, certs.ca, certs.untrusted),
      false,
      "a certificate the CA did not sign",
    );
    assert.equal(await answersOptions(ports, certs.ca, certs.client), true, "the CA's client");
  });
});

Deno.test("TLS connections past an address's cap are closed before a handshake, a stalled one at the deadline", async () => {
  const ports = usingPorts(78);
  await using certs = await makeTlsCerts();
  const configToml = mediaConfig(ports, { tls: certs.server }) +
    "\n[sip]\ntcp_message_timeout = 2\nmax_tcp_per_source = 4\n";
  await withSbc({ ports, configToml }, async () => {
    // Six TCP connections to the TLS port that never start a handshake.
    const conns: Deno.TcpConn[] = [];
    try {
      for (let i = 0; i < 6; i++) {
        conns.push(await Deno.connect({ hostname: ADDRESS.external, port: ports.sbcTls }));
      }
      const started = Date.now();
      // Each read ends when the SBC closes the connection; 8 s bounds a broken run.
      const closedAt = await Promise.all(conns.map(async (c) => {
        await Promise.race([c.read(new Uint8Array(64)).catch(() => null), sleep(8_000)]);
        return Date.now() - started;
      }));
      const early = closedAt.filter((ms) => ms < 1_000).length;
      assert.equal(early, 2, `closed after ${closedAt.join(", ")} ms`);
      assert.ok(closedAt.every((ms) => ms < 5_000), `closed after ${closedAt.join(", ")} ms`);
    } finally {
      for (const c of conns) c.close();
    }
    assert.equal(await answersOptions(ports, certs.ca), true, "TLS served again");
  });
});

Deno.test("a source the external deny list refuses gets no TLS handshake", async () => {
  const ports = usingPorts(84);
  await using certs = await makeTlsCerts();
  const configToml = mediaConfig(ports, { tls: certs.server }).replace(
    'media = "127.0.1.1"',
    'media = "127.0.1.1"\ndeny = ["127.0.1.13"]',
  );
  await withSbc({ ports, configToml }, async () => {
    await assert.rejects(
      () => SipStreamEndpoint.connect("127.0.1.13", tlsAddress(ports), { tls: { ca: certs.ca } }),
      "a handshake with a denied source",
    );
    const stats = await adminGet(ports, "/api/stats") as { sip: { denied: number } };
    assert.ok(stats.sip.denied >= 1, JSON.stringify(stats.sip));
    // Another source is served.
    const other = await SipStreamEndpoint.connect("127.0.1.12", tlsAddress(ports), {
      tls: { ca: certs.ca },
    });
    await other.close();
  });
});
