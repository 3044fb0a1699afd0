import { ErrorCode, SsmTunnelError } from '../errors.js';
import { isLoopbackHost, isLoopbackUrl } from '../util/net.js';

/*
 * Which StreamUrl the client may open. The service's answer decides where the session token goes
 * and what the socket connects to, so it is not followed blindly: a `ws:` URL to another host sends
 * the token in clear text, and `ws+unix:` or `http:` would make the client write to whatever the
 * URL names (docs/protocol.md §1.3, §4.1).
 */

/** What the caller knows about the API endpoint that returned the StreamUrl. */
export interface StreamUrlPolicy {
  /** The custom API endpoint (`endpoint:`); undefined for AWS's own. */
  apiEndpoint?: string | undefined;
}

/**
 * Undefined when the StreamUrl may be opened: `wss:` always; `ws:` only to a loopback host and
 * only when the API endpoint itself is a loopback `http:` URL (the emulator). Anything else gets
 * a permanent `ERR_INSECURE_STREAM_URL` naming the scheme and host, for the caller to throw.
 */
export function streamUrlRefusal(streamUrl: string, policy: StreamUrlPolicy = {}): SsmTunnelError | undefined {
  let url: URL;
  try {
    url = new URL(streamUrl);
  } catch (error) {
    return new SsmTunnelError(ErrorCode.INSECURE_STREAM_URL, 'the service returned a StreamUrl that is not a URL; refusing to connect', { cause: error });
  }
  if (url.protocol === 'wss:') return undefined;
  if (url.protocol === 'ws:') {
    if (!isLoopbackHost(url.hostname)) {
      return new SsmTunnelError(
        ErrorCode.INSECURE_STREAM_URL,
        `the service returned a StreamUrl with scheme ws: to ${url.host}: the session token would travel in clear text; only wss: is accepted for a non-loopback host`,
      );
    }
    if (policy.apiEndpoint === undefined || !isLoopbackUrl(policy.apiEndpoint, 'http:')) {
      return new SsmTunnelError(
        ErrorCode.INSECURE_STREAM_URL,
        `the service returned a StreamUrl with scheme ws: to ${url.host}; ws: is accepted only from an API endpoint on loopback over http: (the emulator)`,
      );
    }
    return undefined;
  }
  return new SsmTunnelError(ErrorCode.INSECURE_STREAM_URL, `the service returned a StreamUrl with scheme ${url.protocol} (host ${url.host === '' ? 'none' : url.host}); only wss: is accepted`);
}

