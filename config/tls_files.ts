/**
 * Reading an interface's TLS files (`[interfaces.<name>.tls]`): the PEM texts the transport hands
 * to node:tls, checked first so that `check`, startup and a SIGHUP reload refuse the same
 * mistakes: a file that cannot be read, a certificate that does not parse, has expired or is not
 * yet valid, a key that is not the certificate's, a CA file without a certificate.
 *
 * @module
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import type { TlsConfig, TlsVersion } from "./config.ts";

/** The PEM texts of one interface's TLS settings, ready for a TLS context. */
export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  readonly ca: string | undefined;
  readonly minVersion: TlsVersion;
  readonly verifyClient: boolean;
  /** When the certificate stops being valid, for the log line at load. */
  readonly validTo: Date;
}

/** The material, or the key whose file is wrong and why. */
export type TlsFilesResult =
  | { readonly ok: true; readonly value: TlsMaterial }
  | { readonly ok: false; readonly key: "cert" | "key" | "ca"; readonly error: string };

/** Reads and checks the files of `tls` as of `now`. Never throws. */
export async function readTlsFiles(tls: TlsConfig, now = new Date()): Promise<TlsFilesResult> {
  const read = async (path: string) => {
    try {
      return { text: await Deno.readTextFile(path) };
    } catch (err) {
      return { error: `cannot read "${path}": ${err instanceof Error ? err.message : err}` };
    }
  };
  const cert = await read(tls.cert);
  if (cert.error !== undefined) return { ok: false, key: "cert", error: cert.error };
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert.text!);
  } catch {
    return { ok: false, key: "cert", error: `"${tls.cert}" holds no PEM certificate` };
  }
  // node:crypto reads the first certificate of a chain: the one presented as ours.
  if (x509.validToDate < now) {
    return {
      ok: false,
      key: "cert",
      error: `"${tls.cert}" expired on ${x509.validToDate.toISOString()}`,
    };
  }
  if (x509.validFromDate > now) {
    return {
      ok: false,
      key: "cert",
      error: `"${tls.cert}" is not valid before ${x509.validFromDate.toISOString()}`,
    };
  }
  const key = await read(tls.key);
  if (key.error !== undefined) return { ok: false, key: "key", error: key.error };
  try {
    if (!x509.checkPrivateKey(createPrivateKey(key.text!))) {
      return { ok: false, key: "key", error: `"${tls.key}" is not the key of "${tls.cert}"` };
    }
  } catch {
    return { ok: false, key: "key", error: `"${tls.key}" holds no PEM private key` };
  }
  let ca: string | undefined;
  if (tls.ca !== undefined) {
    const caFile = await read(tls.ca);
    if (caFile.error !== undefined) return { ok: false, key: "ca", error: caFile.error };
    try {
      new X509Certificate(caFile.text!);
    } catch {
      return { ok: false, key: "ca", error: `"${tls.ca}" holds no PEM certificate` };
    }
    ca = caFile.text!;
  }
  return {
    ok: true,
    value: {
      cert: cert.text!,
      key: key.text!,
      ca,
      minVersion: tls.minVersion,
      verifyClient: tls.verifyClient,
      validTo: x509.validToDate,
    },
  };
}
