/*
 * Which certificate authorities the API calls and the data channel trust. As the AWS CLI decides
 * where a bundle comes from: the `caBundle` option, else AWS_CA_BUNDLE, else the profile's
 * `ca_bundle` in the shared config file. Unlike the AWS CLI, a bundle adds to Node's default CAs
 * (and to NODE_EXTRA_CA_CERTS) instead of replacing them: the API host and the stream host may be
 * reached one through a TLS-inspecting proxy and one directly (NO_PROXY), and a bundle holding
 * only the proxy's CA must work for both.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { getProfileName, loadSharedConfigFiles } from '@smithy/core/config';
import { ErrorCode, SsmTunnelError } from '../errors.js';

export interface CaBundleSource {
  /** The file, as written (a leading `~/` expanded). */
  path: string;
  /** `caBundle option`, `AWS_CA_BUNDLE`, or `profile <name> ca_bundle`. */
  from: string;
}

/** The bundle to add, or undefined when only Node's CAs (with NODE_EXTRA_CA_CERTS) apply. */
export async function findCaBundle(options: { caBundle?: string; profile?: string }): Promise<CaBundleSource | undefined> {
  if (options.caBundle !== undefined) return { path: expandHome(options.caBundle), from: 'caBundle option' };
  const fromEnv = process.env.AWS_CA_BUNDLE;
  if (fromEnv !== undefined && fromEnv !== '') return { path: expandHome(fromEnv), from: 'AWS_CA_BUNDLE' };
  const profile = getProfileName({ profile: options.profile });
  // The files the SDK reads (AWS_CONFIG_FILE, ~/.aws/config); missing files read as empty.
  const { configFile } = await loadSharedConfigFiles();
  const fromProfile = configFile[profile]?.ca_bundle;
  if (fromProfile !== undefined && fromProfile !== '') return { path: expandHome(fromProfile), from: `profile ${profile} ca_bundle` };
  return undefined;
}

/** For `check --connect` and errors: where trust comes from, in a few words. */
export function describeCaSource(source: CaBundleSource | undefined): string {
  const extra = process.env.NODE_EXTRA_CA_CERTS ? ` + NODE_EXTRA_CA_CERTS ${process.env.NODE_EXTRA_CA_CERTS}` : '';
  return source === undefined ? `Node's default CAs${extra}` : `${source.path} (${source.from}) + Node's default CAs${extra}`;
}

/**
 * One TLS context trusting Node's default CAs, NODE_EXTRA_CA_CERTS and the bundle; undefined when
 * there is no bundle (Node's own default context already trusts the first two). A `ca` option
 * replaces Node's whole store, NODE_EXTRA_CA_CERTS included, hence both are added back here.
 */
export async function loadCaBundle(source: CaBundleSource | undefined): Promise<SecureContext | undefined> {
  if (source === undefined) return undefined;
  let bundle: string;
  try {
    bundle = await readFile(source.path, 'utf8');
  } catch (error) {
    throw new SsmTunnelError(ErrorCode.CA_BUNDLE, `cannot read the CA bundle ${source.path} (${source.from}): ${(error as Error).message}`, { cause: error });
  }
  if (!bundle.includes('-----BEGIN CERTIFICATE-----')) {
    throw new SsmTunnelError(ErrorCode.CA_BUNDLE, `the CA bundle ${source.path} (${source.from}) holds no PEM certificate`);
  }
  const ca = [...rootCertificates, bundle];
  const extraPath = process.env.NODE_EXTRA_CA_CERTS;
  // Node has already warned at startup if this file is unreadable; it then adds nothing, nor do we.
  if (extraPath) ca.push(await readFile(extraPath, 'utf8').catch(() => ''));
  try {
    return createSecureContext({ ca: ca.filter((pem) => pem !== '') });
  } catch (error) {
    throw new SsmTunnelError(ErrorCode.CA_BUNDLE, `the CA bundle ${source.path} (${source.from}) is not valid PEM: ${(error as Error).message}`, { cause: error });
  }
}

function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? `${homedir()}${path.slice(1)}` : path;
}
