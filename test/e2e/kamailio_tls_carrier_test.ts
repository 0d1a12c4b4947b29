// A carrier over TLS (issue "The external side speaks to the internet", part 2): Kamailio with
// its TLS module takes a sipp phone's calls over UDP and relays them over TLS to the SBC, which
// requires its client certificate (verify_client); the PBX's BYE goes back to Kamailio over TLS,
// the SBC checking Kamailio's certificate in turn. With a certificate the CA did not sign, no call
// passes.
import assert from "node:assert/strict";
import {
  ADDRESS,
  assertAllCallsSucceeded,
  type Ports,
  received,
  runSipp,
  startSippServer,
  usingPorts,
  withSbc,
} from "./_harness.ts";
import { mediaConfig } from "./_media.ts";
import { startKamailioTls } from "./_kamailio_tls.ts";
import { makeTlsCerts, type TlsCerts } from "./_tls_certs.ts";

const CARRIER = "127.0.1.11";

/** The SBC config: TLS outside, client certificates required and checked against the test CA. */
function config(ports: Ports, certs: TlsCerts): string {
  return mediaConfig(ports, { tls: { ...certs.server, ca: certs.ca, verifyClient: true } });
}

/** Kamailio presenting `identity` as its certificate, to the SBC and to its own TLS clients. */
function carrier(ports: Ports, certs: TlsCerts, identity: { cert: string; key: string }) {
  return startKamailioTls({
    host: CARRIER,
    udpPort: ports.sbc,
    tlsPort: ports.sbc + 1,
    target: { host: ADDRESS.external, port: ports.sbcTls },
    ca: certs.ca,
    client: identity,
  });
}

Deno.test("calls from a Kamailio TLS carrier with a client certificate pass both ways", async () => {
  const ports = usingPorts(81);
  const calls = 5;
  await using certs = await makeTlsCerts({ ips: [ADDRESS.external, CARRIER] });
  await withSbc({ ports, configToml: config(ports, certs) }, async (sbc) => {
    // The CA's certificate names the carrier's address: the SBC checks it when it sends the
    // PBX's BYE back over a TLS connection of its own.
    await using kamailio = await carrier(ports, certs, certs.server);
    await using pbx = await startSippServer({
      scenario: "uas-answer-then-send-bye.xml",
      role: "pbx",
      ports,
      calls,
    });
    const phone = await runSipp({
      scenario: "uac-call-expect-bye.xml",
      role: "phone",
      ports,
      remote: `${CARRIER}:${ports.sbc}`,
      calls,
      rate: 10,
    });
    const callee = await pbx.wait(15_000);
    try {
      assertAllCallsSucceeded(calls, { phone, PBX: callee });
    } catch (error) {
      console.error(`--- Kamailio log ---\n${await kamailio.log()}`);
      throw error;
    }
    assert.equal(received(phone, "BYE").length, calls);
    assert.doesNotMatch(await sbc.logs(), /TLS connect to .* failed/);
  });
});

Deno.test("a TLS carrier whose certificate the CA did not sign gets no call through", async () => {
  const ports = usingPorts(82);
  await using certs = await makeTlsCerts({ ips: [ADDRESS.external, CARRIER] });
  await withSbc({ ports, configToml: config(ports, certs) }, async () => {
    await using _kamailio = await carrier(ports, certs, certs.untrusted);
    await using pbx = await startSippServer({
      scenario: "uas-answer-then-send-bye.xml",
      role: "pbx",
      ports,
      calls: 1,
    });
    const phone = await runSipp({
      scenario: "uac-call-expect-bye.xml",
      role: "phone",
      ports,
      remote: `${CARRIER}:${ports.sbc}`,
      calls: 1,
      recvTimeoutMs: 3_000,
      timeoutMs: 10_000,
    });
    assert.equal(phone.successful, 0, "a call passed without a client certificate");
    assert.equal(
      received(await pbx.wait(1_000).catch(() => undefined) ?? phone, "INVITE").length,
      0,
    );
  });
});
