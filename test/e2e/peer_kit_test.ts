// The end-to-end kit's own checks: the tone detector the SRTP tests decode audio with, and the
// throw-away CA the TLS tests trust.
import assert from "node:assert/strict";
import { makeTlsCerts } from "./_tls_certs.ts";
import { decodeWav, dominantFrequency, sineWav } from "./_tone.ts";

const REGISTRAR_HOST = "127.0.1.1";

Deno.test("dominantFrequency() finds a tone after leading silence and rejects noise", () => {
  const tone = decodeWav(sineWav(1234, { seconds: 1.5 }));
  const samples = new Float32Array(8000 + tone.samples.length);
  samples.set(tone.samples, 8000);
  const found = dominantFrequency({ sampleRate: 8000, samples });
  assert.ok(Math.abs(found.frequency - 1234) <= 5, JSON.stringify(found));
  assert.ok(found.share > 0.9 && found.audibleSeconds === 1.5, JSON.stringify(found));

  let seed = 1;
  const noise = new Float32Array(16000).map(() =>
    (seed = (seed * 48271) % 0x7fffffff) / 0x7fffffff - 0.5
  );
  assert.ok(dominantFrequency({ sampleRate: 8000, samples: noise }).share < 0.1);
  assert.equal(
    dominantFrequency({ sampleRate: 8000, samples: new Float32Array(8000) }).frequency,
    0,
  );
});

Deno.test("makeTlsCerts() signs server and client certificates; the expired one has expired", async () => {
  await using certs = await makeTlsCerts({ ips: [REGISTRAR_HOST] });
  const verify = async (cert: string) => {
    const output = await new Deno.Command("openssl", {
      args: ["verify", "-CAfile", certs.ca, cert],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    return new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  };
  assert.match(await verify(certs.server.cert), /: OK/);
  assert.match(await verify(certs.client.cert), /: OK/);
  assert.match(await verify(certs.expired.cert), /certificate has expired/);
  assert.match(await verify(certs.untrusted.cert), /self-signed certificate/);
});
