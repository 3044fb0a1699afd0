import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { ApiError } from './api-errors.js';

/*
 * Checks SigV4 `Authorization` headers the way the service does: find the secret for the access key,
 * re-sign the received request with the same date, scope and signed headers using the SDK's own
 * signer, and compare signatures. Failures carry the error types the real service returns.
 */

export interface EmulatorCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** The emulator's built-in key pair, used when no credentials are configured. Not an AWS credential. */
export const EMULATOR_ACCESS_KEY_ID = 'AKIAEMULATOR7SSMTNL0';
export const EMULATOR_SECRET_ACCESS_KEY = 'emulatorSecretKey/ssm+tunnel/NotAws00000';
export const EMULATOR_CREDENTIALS: EmulatorCredentials = {
  accessKeyId: EMULATOR_ACCESS_KEY_ID,
  secretAccessKey: EMULATOR_SECRET_ACCESS_KEY,
};

/** What the verifier needs of a received HTTP request; `headers` as node:http delivers them (lower-case names). */
export interface ReceivedRequest {
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
/** The service accepts signatures dated up to 15 minutes away from its clock. */
const MAX_CLOCK_SKEW_MS = 15 * 60_000;

const incomplete = (message: string): ApiError => new ApiError('IncompleteSignatureException', message);
const invalidSignature = (message: string): ApiError => new ApiError('InvalidSignatureException', message);

interface ParsedAuthorization {
  accessKeyId: string;
  scopeDate: string;
  scopeRegion: string;
  scopeService: string;
  signedHeaders: string[];
  signature: string;
}

function parseAuthorization(header: string): ParsedAuthorization {
  if (!header.startsWith(`${ALGORITHM} `)) {
    throw incomplete(`Authorization header must start with '${ALGORITHM} ', got '${header.split(' ')[0]}'`);
  }
  const parts = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length + 1).split(',')) {
    const equals = part.indexOf('=');
    if (equals > 0) parts.set(part.slice(0, equals).trim(), part.slice(equals + 1).trim());
  }
  const credential = parts.get('Credential');
  const signedHeaders = parts.get('SignedHeaders');
  const signature = parts.get('Signature');
  if (credential === undefined) throw incomplete("Authorization header requires 'Credential' parameter");
  if (signedHeaders === undefined) throw incomplete("Authorization header requires 'SignedHeaders' parameter");
  if (signature === undefined) throw incomplete("Authorization header requires 'Signature' parameter");
  const scope = credential.split('/');
  if (scope.length !== 5 || scope[4] !== 'aws4_request') {
    throw incomplete(`Credential must be <key>/<date>/<region>/<service>/aws4_request, got ${scope.length} parts ending '${scope.at(-1)}'`);
  }
  const [accessKeyId = '', scopeDate = '', scopeRegion = '', scopeService = ''] = scope;
  return { accessKeyId, scopeDate, scopeRegion, scopeService, signedHeaders: signedHeaders.split(';'), signature };
}

/** `20240102T030405Z` → Date, or undefined when the text is not in that form. */
function parseAmzDate(text: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s));
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

export class SigV4Verifier {
  private readonly secrets: Map<string, string>;

  constructor(
    credentials: readonly EmulatorCredentials[],
    private readonly region: string,
    private readonly service = 'ssm',
  ) {
    this.secrets = new Map(credentials.map((c) => [c.accessKeyId, c.secretAccessKey]));
  }

  /** Resolves with the caller's access key id, or rejects with the `ApiError` the service would return. */
  async verify(request: ReceivedRequest, now = new Date()): Promise<string> {
    const authorization = headerValue(request.headers, 'authorization');
    if (authorization === undefined) {
      throw new ApiError('MissingAuthenticationTokenException', 'Request is missing Authentication Token');
    }
    const auth = parseAuthorization(authorization);
    const secretAccessKey = this.secrets.get(auth.accessKeyId);
    if (secretAccessKey === undefined) {
      throw new ApiError('UnrecognizedClientException', 'The security token included in the request is invalid.');
    }
    const amzDate = headerValue(request.headers, 'x-amz-date');
    if (amzDate === undefined) throw incomplete("Authorization header requires existence of a 'X-Amz-Date' header.");
    const signingDate = parseAmzDate(amzDate);
    if (signingDate === undefined) throw incomplete(`X-Amz-Date must look like 20240102T030405Z, got '${amzDate}'`);
    if (!auth.signedHeaders.includes('host')) throw incomplete("'Host' must be a 'SignedHeader' in the Authorization header.");
    if (auth.scopeDate !== amzDate.slice(0, 8)) {
      throw invalidSignature(`Date in Credential scope (${auth.scopeDate}) does not match the date of X-Amz-Date (${amzDate.slice(0, 8)}).`);
    }
    if (auth.scopeRegion !== this.region) {
      throw invalidSignature(`Credential should be scoped to a valid region: expected '${this.region}', got '${auth.scopeRegion}'.`);
    }
    if (auth.scopeService !== this.service) {
      throw invalidSignature(`Credential should be scoped to correct service: '${this.service}', got '${auth.scopeService}'.`);
    }
    if (Math.abs(now.getTime() - signingDate.getTime()) > MAX_CLOCK_SKEW_MS) {
      throw invalidSignature(`Signature expired: ${amzDate} is more than 15 minutes away from the service's clock (${now.toISOString()}).`);
    }

    const signedHeaders: Record<string, string> = {};
    for (const name of auth.signedHeaders) {
      const value = headerValue(request.headers, name);
      if (value === undefined) throw invalidSignature(`Signed header '${name}' is not present in the request.`);
      signedHeaders[name] = value;
    }
    const signer = new SignatureV4({
      credentials: { accessKeyId: auth.accessKeyId, secretAccessKey },
      region: this.region,
      service: this.service,
      sha256: Sha256,
      applyChecksum: false,
    });
    const resigned = await signer.sign(
      {
        method: request.method,
        protocol: 'http:',
        hostname: signedHeaders.host ?? '',
        path: request.path,
        query: request.query,
        headers: signedHeaders,
        body: request.body,
      },
      { signingDate, signableHeaders: new Set(auth.signedHeaders) },
    );
    const expected = /Signature=([0-9a-f]+)/.exec(resigned.headers.authorization ?? '')?.[1] ?? '';
    if (!sameText(expected, auth.signature)) {
      throw invalidSignature(
        'The request signature we calculated does not match the signature you provided. ' +
          'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
      );
    }
    return auth.accessKeyId;
  }
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
