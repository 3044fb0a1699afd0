/*
 * The emulator's TLS identity for `tls: true`: a throwaway CA made at start, and a server
 * certificate it signs for 127.0.0.1, ::1 and localhost. The server presents both (a chain, as a
 * TLS-inspecting proxy does), and clients trust the CA through the file written here
 * (AWS_CA_BUNDLE, caBundle). Keys live in memory only and die with the emulator.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface EmulatorTlsIdentity {
  /** The server's private key (PEM). */
  key: string;
  /** The server certificate followed by the CA certificate (PEM). */
  cert: string;
  /** The CA certificate alone (PEM): what clients must trust. */
  caCertificate: string;
  /** A file holding `caCertificate`, for AWS_CA_BUNDLE or caBundle. */
  caFile: string;
  /** Removes `caFile` and its directory. */
  remove(): Promise<void>;
}

/** Valid for a day: the emulator is a test and demo service, restarted far more often. */
const VALIDITY_MS = 24 * 60 * 60 * 1000;

export async function createTlsIdentity(): Promise<EmulatorTlsIdentity> {
  // Loaded only here: plain-http emulators and the CLI's other commands never pay for it.
  const { generate } = await import('selfsigned');
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + VALIDITY_MS);
  const common = { keyType: 'ec' as const, curve: 'P-256' as const, algorithm: 'sha256', notBeforeDate, notAfterDate };
  // A name of its own: a client trusting two emulators' CAs must not mistake one for the other.
  const ca = await generate([{ name: 'commonName', value: `ssm-tunnel emulator test CA ${randomBytes(4).toString('hex')}` }], {
    ...common,
    extensions: [
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const server = await generate([{ name: 'commonName', value: 'localhost' }], {
    ...common,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  const directory = await mkdtemp(join(tmpdir(), 'ssm-tunnel-emulator-'));
  const caFile = join(directory, 'ca.pem');
  await writeFile(caFile, ca.cert, { mode: 0o644 });
  return {
    key: server.private,
    cert: `${server.cert.trim()}\n${ca.cert.trim()}\n`,
    caCertificate: ca.cert,
    caFile,
    remove: () => rm(directory, { recursive: true, force: true }),
  };
}
