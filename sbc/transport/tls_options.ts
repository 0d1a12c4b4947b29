/**
 * node:tls options from an interface's TLS material (config/tls_files.ts): what its `tls:`
 * listeners present and require, and what its outgoing TLS connections present and check.
 *
 * @module
 */
import {
  checkServerIdentity,
  type PeerCertificate,
  type SecureContextOptions,
  type TlsOptions,
} from "node:tls";
import type { TlsMaterial } from "../../config/tls_files.ts";

const VERSION = { "1.2": "TLSv1.2", "1.3": "TLSv1.3" } as const;

/** The certificate, key and CA: what a reload swaps on a running listener. */
export function secureContextOptions(m: TlsMaterial): SecureContextOptions {
  return {
    cert: m.cert,
    key: m.key,
    minVersion: VERSION[m.minVersion],
    ...(m.ca !== undefined && { ca: m.ca }),
  };
}

/** A listener's options; `handshakeMs` bounds a handshake as a message is bounded on TCP. */
export function serverOptions(m: TlsMaterial, handshakeMs: number): TlsOptions {
  return {
    ...secureContextOptions(m),
    // Mutual TLS (RFC 3261 §26.3.2.2 for proxies, a carrier's requirement in practice).
    requestCert: m.verifyClient,
    rejectUnauthorized: m.verifyClient,
    handshakeTimeout: handshakeMs,
  };
}

/**
 * An outgoing connection's options: the server is verified (against `ca`, else the system's CAs)
 * and by `name`, the host name or IP the target URI gave (RFC 5922 §7.2); our certificate goes
 * along for servers that ask for one. No material: the system's CAs, no client certificate, TLS
 * 1.2 at least.
 */
export function clientOptions(m: TlsMaterial | undefined, name: string, isIp: boolean) {
  return {
    ...(m ? secureContextOptions(m) : { minVersion: VERSION["1.2"] }),
    // SNI carries names only (RFC 6066 §3); an IP is checked against the certificate's IP SANs.
    ...(!isIp && { servername: name }),
    checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(name, cert),
    rejectUnauthorized: true,
  };
}
