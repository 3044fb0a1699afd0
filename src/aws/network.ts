/*
 * How ssm-tunnel reaches AWS: one agent per API client, used by the SDK for the API calls and by
 * the data channel's WebSocket alike. Per connection it decides on a proxy (the `proxy` option,
 * else HTTPS_PROXY / HTTP_PROXY / NO_PROXY as curl reads them, through proxy-from-env; it matches
 * host suffixes, `*` and ports, not CIDR ranges), opens the CONNECT tunnel with https-proxy-agent,
 * and checks the server's certificate against the CA bundle (ca-bundle.ts). A certificate, proxy
 * or CA-bundle failure becomes an SsmTunnelError naming the host and the proxy, whose credentials
 * are redacted everywhere.
 */
import type { ClientRequest } from 'node:http';
import { connect as netConnect, isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, TLSSocket, type SecureContext } from 'node:tls';
import { Agent, type AgentConnectOpts } from 'agent-base';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { getProxyForUrl } from 'proxy-from-env';
import { ErrorCode, InvalidOptionError, SsmTunnelError } from '../errors.js';
import { silentLogger, type Logger } from '../logging.js';
import { formatHostPort } from '../util/net.js';
import { redactUrl } from '../util/redact.js';
import { describeCaSource, findCaBundle, loadCaBundle } from './ca-bundle.js';

export interface NetworkOptions {
  /** A proxy URL (`http://user:pass@proxy:3128`) for every connection, or `none`; unset: the environment decides. */
  proxy?: string;
  /** A PEM file of CAs to trust besides Node's; unset: AWS_CA_BUNDLE, then the profile's `ca_bundle`. */
  caBundle?: string;
  /** The profile whose `ca_bundle` applies; unset: AWS_PROFILE, then `default`. */
  profile?: string;
  logger?: Logger;
}

/** The proxy a connection takes. */
export interface ProxyRoute {
  /** The proxy URL as configured (with credentials: show it only through redactUrl). Undefined: direct. */
  url: string | undefined;
  /** Why: `proxy option`, the variable it came from (`HTTPS_PROXY`, …), `NO_PROXY`, or `no proxy configured`. */
  reason: string;
}

/** What `ssm-tunnel check --connect` shows for one endpoint. */
export interface NetworkDescription {
  /** `http://user:***@proxy:3128 (HTTPS_PROXY)` or `direct (NO_PROXY)`. */
  proxy: string;
  /** Where trust comes from. */
  ca: string;
}

/** OpenSSL's verification failures as Node reports them: the server's certificate is not trusted. */
const CERTIFICATE_ERRORS: ReadonlySet<string> = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'INVALID_CA',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Whether `proxy` is an acceptable `proxy` option; the error shows it redacted. */
export function checkProxyOption(proxy: unknown, name = 'proxy'): void {
  if (proxy === undefined || proxy === 'none') return;
  const problem = proxyUrlProblem(proxy);
  if (problem !== undefined) throw new InvalidOptionError(`${name} must be "none" or an http:// or https:// proxy URL (${problem}), got ${typeof proxy === 'string' ? JSON.stringify(redactUrl(proxy)) : typeof proxy}`);
}

/** Undefined when `value` is an http(s) proxy URL with a host; otherwise what is wrong. */
export function proxyUrlProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || !URL.canParse(value)) return 'not a URL';
  const url = new URL(value);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `scheme ${url.protocol} is not supported`;
  if (url.hostname === '') return 'no host';
  return undefined;
}

/** The proxy for `target` (an http: or https: URL): the option if given, else the environment. */
export function proxyRoute(target: string, option: string | undefined): ProxyRoute {
  if (option === 'none') return { url: undefined, reason: 'proxy: none' };
  if (option !== undefined) return { url: option, reason: 'proxy option' };
  const scheme = new URL(target).protocol.slice(0, -1);
  const variable = [`${scheme}_proxy`, `${scheme.toUpperCase()}_PROXY`, 'all_proxy', 'ALL_PROXY'].find((name) => process.env[name]);
  if (variable === undefined) return { url: undefined, reason: 'no proxy configured' };
  const url = getProxyForUrl(target);
  if (url === '') return { url: undefined, reason: 'NO_PROXY' };
  // curl assumes http:// for a proxy written without a scheme; proxy-from-env would use the target's.
  return { url: process.env[variable]!.includes('://') ? url : `http://${process.env[variable]!}`, reason: variable };
}

/** `proxy` and `ca` for the API endpoint (`https://ssm.<region>.amazonaws.com` when none is set). */
export async function describeNetwork(options: NetworkOptions & { endpoint?: string; region?: string }): Promise<NetworkDescription> {
  const endpoint = options.endpoint ?? `https://ssm.${options.region ?? '<region>'}.amazonaws.com`;
  const route = proxyRoute(endpoint, options.proxy);
  const proxy = route.url === undefined ? `direct (${route.reason})` : `${redactUrl(route.url)} (${route.reason})`;
  let ca: string;
  try {
    ca = describeCaSource(await findCaBundle(options));
  } catch (error) {
    ca = `cannot read the shared config file: ${(error as Error).message}`;
  }
  return { proxy, ca };
}

/**
 * The agent for one API client and its sessions' WebSockets: give it to the SDK (`httpsAgent` and
 * `httpAgent` of its NodeHttpHandler) and to `ws` (`agent`). Its CA bundle is read on the first
 * connection; a bundle that cannot be read fails every connection with ERR_CA_BUNDLE.
 */
export class NetworkAgent extends Agent {
  private readonly proxyOption: string | undefined;
  private readonly log: Logger;
  private readonly tlsContext: Promise<SecureContext | undefined>;
  /** One CONNECT helper per proxy URL; only its connect() is used, for the CONNECT exchange. */
  private readonly proxyAgents = new Map<string, HttpsProxyAgent<string>>();

  constructor(options: NetworkOptions = {}) {
    // Sockets to the API stay open between calls, as with the SDK's own agent. No maxSockets: an
    // upgraded WebSocket keeps its slot while it lives, and a pool may hold 64 sessions to one host.
    super({ keepAlive: true });
    checkProxyOption(options.proxy);
    this.proxyOption = options.proxy;
    this.log = options.logger ?? silentLogger;
    this.tlsContext = findCaBundle(options).then((source) => {
      if (source !== undefined) this.log.debug({ caBundle: source.path, from: source.from }, 'trusting a CA bundle besides the default CAs');
      return loadCaBundle(source);
    });
    // Reported by the connection that awaits it; never unhandled.
    this.tlsContext.catch(() => {});
  }

  override async connect(req: ClientRequest, options: AgentConnectOpts): Promise<Duplex> {
    const secureContext = await this.tlsContext;
    const host = options.host ?? 'localhost';
    const where = formatHostPort(host, options.port);
    const route = proxyRoute(`${options.secureEndpoint ? 'https' : 'http'}://${where}`, this.proxyOption);
    // SNI for names only, as Node's own https agent sends it.
    const tlsOptions = { ...options, ...(secureContext === undefined ? {} : { secureContext }), ...(isIP(host) === 0 ? { servername: host } : {}) };
    if (route.url === undefined) {
      if (!options.secureEndpoint) return netConnect(options);
      return verified(tlsConnect(tlsOptions), host);
    }
    const socket = await this.throughProxy(route.url, req, options.secureEndpoint ? { ...tlsOptions, secureEndpoint: true } : options, where, secureContext);
    return socket instanceof TLSSocket ? verified(socket, host) : socket;
  }

  private async throughProxy(proxy: string, req: ClientRequest, options: AgentConnectOpts, where: string, secureContext: SecureContext | undefined): Promise<Duplex> {
    const shown = redactUrl(proxy);
    const problem = proxyUrlProblem(proxy);
    if (problem !== undefined) throw new InvalidOptionError(`the proxy ${JSON.stringify(shown)} cannot be used (${problem})`);
    let agent = this.proxyAgents.get(proxy);
    if (agent === undefined) {
      // An https:// proxy is trusted with the same CAs as the servers behind it.
      agent = new HttpsProxyAgent(proxy, { keepAlive: true, ...(secureContext === undefined ? {} : { secureContext }) });
      this.proxyAgents.set(proxy, agent);
    }
    this.log.debug({ viaProxy: shown, to: where }, 'connecting through the proxy');
    let answer: { statusCode: number; statusText: string } | undefined;
    const onAnswer = (connect: { statusCode: number; statusText: string }): void => {
      answer = connect;
    };
    req.once('proxyConnect', onAnswer);
    let socket: Duplex;
    try {
      socket = await agent.connect(req, options);
    } catch (error) {
      // An https:// proxy whose own certificate is not trusted: as permanent as a server's.
      throw (
        certificateError(error as Error, `the proxy ${shown}`) ??
        new SsmTunnelError(ErrorCode.PROXY, `cannot reach the proxy ${shown} to connect to ${where}: ${(error as Error).message}`, { cause: error })
      );
    } finally {
      req.off('proxyConnect', onAnswer);
    }
    if (answer !== undefined && answer.statusCode !== 200) {
      socket.destroy();
      const status = `${answer.statusCode} ${answer.statusText}`.trim();
      if (answer.statusCode === 407) {
        throw new SsmTunnelError(ErrorCode.PROXY_AUTH, `the proxy ${shown} refused CONNECT to ${where}: ${status}; check the user name and password in the proxy URL`);
      }
      throw new SsmTunnelError(ErrorCode.PROXY, `the proxy ${shown} refused CONNECT to ${where}: ${status}`);
    }
    return socket;
  }
}

/** Resolves once the TLS handshake succeeded; a certificate the CAs do not vouch for becomes ERR_TLS_CERTIFICATE. */
function verified(socket: TLSSocket, host: string): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const onSecure = (): void => {
      socket.off('error', onError);
      resolve(socket);
    };
    const onError = (error: Error & { code?: string }): void => {
      socket.off('secureConnect', onSecure);
      socket.destroy();
      reject(certificateError(error, host) ?? error);
    };
    socket.once('secureConnect', onSecure);
    socket.once('error', onError);
  });
}

/**
 * `<reason> for <host>; set AWS_CA_BUNDLE or caBundle`, or undefined for errors that are not about
 * the certificate. `host` names the server (a host name, or `the proxy <redacted URL>`).
 */
export function certificateError(error: Error & { code?: string }, host: string): SsmTunnelError | undefined {
  if (error.code === undefined || !CERTIFICATE_ERRORS.has(error.code)) return undefined;
  const hint = error.code === 'ERR_TLS_CERT_ALTNAME_INVALID' ? '' : '; set AWS_CA_BUNDLE or caBundle';
  return new SsmTunnelError(ErrorCode.TLS_CERTIFICATE, `${error.message} for ${host}${hint}`, { cause: error });
}
