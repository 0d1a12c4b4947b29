/**
 * Throw-away TLS material for end-to-end tests, made with the `openssl` command in a temp dir:
 * a CA, a server certificate for given IP addresses signed by it, a client certificate (mutual
 * TLS), an expired server certificate and a self-signed one the CA does not vouch for.
 *
 * EC P-256 keys keep the whole set under a second. OpenSSL 3.0 (Debian bookworm) has no
 * `-not_before`/`-not_after` in `x509` or `req`, so the expired certificate is signed with
 * `openssl ca -startdate -enddate`, which takes any dates.
 *
 * @module
 */

import { KEEP_FILES } from "./_harness.ts";

/** One certificate and its key, as PEM files. */
export interface CertFiles {
  /** the certificate alone */
  cert: string;
  /** the unencrypted private key alone */
  key: string;
  /** certificate followed by key in one file: baresip's `sip_certificate` wants this */
  pem: string;
}

/** A CA and the certificates it signed, in one temp dir removed by `remove()`. */
export interface TlsCerts extends AsyncDisposable {
  dir: string;
  /** the CA certificate: the trust anchor a peer is given (`sip_cafile`, `ca_list`) */
  ca: string;
  caKey: string;
  /** CN "edgesbc-e2e-server", SANs from `ips` and `dnsNames`, serverAuth */
  server: CertFiles;
  /** CN `clientName`, clientAuth */
  client: CertFiles;
  /** like `server` but its validity ended yesterday */
  expired: CertFiles;
  /** like `server` but self-signed: a peer that trusts `ca` must refuse it */
  untrusted: CertFiles;
  /** removes the dir unless EDGESBC_E2E_KEEP=1; idempotent */
  remove(): Promise<void>;
}

export interface MakeTlsCertsOptions {
  /** IP SANs of the server certificates; default the SBC's external address */
  ips?: readonly string[];
  dnsNames?: readonly string[];
  /** CN of the client certificate; default "edgesbc-e2e-client" */
  clientName?: string;
  /** validity of the good certificates; default 2 days */
  days?: number;
}

/** Makes a CA and its certificates with `openssl`; throws with openssl's stderr on failure. */
export async function makeTlsCerts(options: MakeTlsCertsOptions = {}): Promise<TlsCerts> {
  const dir = await Deno.makeTempDir({ prefix: "edgesbc-e2e-tls-" });
  let removed: Promise<void> | undefined;
  const remove = () =>
    removed ??= KEEP_FILES ? Promise.resolve() : Deno.remove(dir, {
      recursive: true,
    }).catch(() => {});
  try {
    const path = (name: string) => `${dir}/${name}`;
    const san = [
      ...(options.ips ?? ["127.0.1.1"]).map((ip) => `IP:${ip}`),
      ...(options.dnsNames ?? []).map((name) => `DNS:${name}`),
    ].join(",");
    const days = String(options.days ?? 2);
    await Deno.writeTextFile(path("openssl.cnf"), opensslConfig(dir, san));
    await Deno.writeTextFile(path("index.txt"), "");
    const config = ["-config", path("openssl.cnf")];

    // CA: self-signed with the v3_ca extensions of our own config, not the system's
    await openssl([
      ...["req", "-x509", "-new", ...config, "-extensions", "v3_ca", "-nodes"],
      ...newKey(path("ca.key")),
      ...["-subj", "/CN=edgesbc-e2e-ca", "-days", days, "-out", path("ca.pem")],
    ]);

    const request = async (name: string, subject: string) => {
      await openssl([
        ...["req", "-new", ...config, "-nodes"],
        ...newKey(path(`${name}.key`)),
        ...["-subj", subject, "-out", path(`${name}.csr`)],
      ]);
    };
    const signByCa = async (name: string, extensions: string) => {
      await openssl([
        ...["x509", "-req", "-in", path(`${name}.csr`), "-CA", path("ca.pem")],
        ...["-CAkey", path("ca.key"), "-set_serial", randomSerial(), "-days", days],
        ...["-extfile", path("openssl.cnf"), "-extensions", extensions],
        ...["-out", path(`${name}.crt`)],
      ]);
    };

    await request("server", "/CN=edgesbc-e2e-server");
    await signByCa("server", "v3_server");
    await request("client", `/CN=${options.clientName ?? "edgesbc-e2e-client"}`);
    await signByCa("client", "v3_client");

    await request("expired", "/CN=edgesbc-e2e-expired");
    const day = 24 * 3600_000;
    await openssl([
      ...["ca", "-batch", ...config, "-name", "expired_ca", "-notext"],
      ...["-cert", path("ca.pem"), "-keyfile", path("ca.key")],
      ...["-startdate", asn1Time(Date.now() - 3 * day), "-enddate", asn1Time(Date.now() - day)],
      ...["-extensions", "v3_server", "-in", path("expired.csr"), "-out", path("expired.crt")],
    ]);

    await openssl([
      ...["req", "-x509", "-new", ...config, "-extensions", "v3_server", "-nodes"],
      ...newKey(path("untrusted.key")),
      ...["-subj", "/CN=edgesbc-e2e-untrusted", "-days", days, "-out", path("untrusted.crt")],
    ]);

    const files = async (name: string): Promise<CertFiles> => {
      const [cert, key] = [path(`${name}.crt`), path(`${name}.key`)];
      const pem = path(`${name}.pem`);
      await Deno.writeTextFile(
        pem,
        (await Deno.readTextFile(cert)) + (await Deno.readTextFile(key)),
      );
      return { cert, key, pem };
    };
    return {
      dir,
      ca: path("ca.pem"),
      caKey: path("ca.key"),
      server: await files("server"),
      client: await files("client"),
      expired: await files("expired"),
      untrusted: await files("untrusted"),
      remove,
      [Symbol.asyncDispose]: remove,
    };
  } catch (error) {
    await remove();
    throw error;
  }
}

/** `-newkey` arguments for an unencrypted EC P-256 key written to `keyPath`. */
function newKey(keyPath: string): string[] {
  return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-keyout", keyPath];
}

/** A positive 63-bit serial in hex, so certificates from separate runs never share one. */
function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  bytes[0]! &= 0x7f;
  return `0x${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** UTCTime as `openssl ca` wants it: YYMMDDHHMMSSZ. */
function asn1Time(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, "").slice(2, 14) + "Z";
}

/**
 * Our own config, so the system openssl.cnf adds no extensions: `req` needs a distinguished-name
 * section even with `-subj`; `ca` needs a database, a policy and a place for its copies.
 */
function opensslConfig(dir: string, san: string): string {
  return `[req]
distinguished_name = dn
prompt = no

[dn]
CN = unused

[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[v3_server]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = ${san}

[v3_client]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth

[expired_ca]
database = ${dir}/index.txt
new_certs_dir = ${dir}
rand_serial = yes
default_md = sha256
policy = any_policy
unique_subject = no
copy_extensions = none

[any_policy]
commonName = supplied
`;
}

async function openssl(args: string[]): Promise<void> {
  const output = await new Deno.Command("openssl", {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(
      `Cannot run "openssl ${args.join(" ")}": exit ${output.code}: ${
        new TextDecoder().decode(output.stderr).trim()
      }`,
    );
  }
}
