import { BlockList, isIP } from 'node:net';
import { InvalidOptionError } from '../errors.js';

/*
 * Which destinations the proxy may open sessions to. An entry is `host:port`:
 *
 * - host: `*` (any), a name (`db.example.com`), a suffix wildcard (`*.internal`: any name below
 *   `internal`, not `internal` itself), an IPv4 address or CIDR block (`10.0.0.0/8`), an IPv6
 *   address or block in brackets (`[fd00::1]`, `[fd00::]/8`);
 * - port: a number, a range (`8000-8099`) or `*`.
 *
 * Names are resolved on the target, never here, so a name only matches name entries and an address
 * only matches address entries: `10.0.0.0/8:5432` does not admit `db.internal:5432`.
 */

type HostMatcher = { kind: 'any' } | { kind: 'name'; name: string } | { kind: 'suffix'; suffix: string } | { kind: 'addresses'; list: BlockList };

interface AllowEntry {
  text: string;
  host: HostMatcher;
  portFrom: number;
  portTo: number;
}

export class AllowList {
  private constructor(private readonly entries: readonly AllowEntry[] | undefined) {}

  /** `undefined` allows every destination; an empty list allows none. Throws `InvalidOptionError` naming a bad entry. */
  static parse(patterns: readonly string[] | undefined, optionName = 'allow'): AllowList {
    if (patterns === undefined) return new AllowList(undefined);
    if (!Array.isArray(patterns)) throw new InvalidOptionError(`${optionName} must be a list of "host:port" patterns, got ${JSON.stringify(patterns)}`);
    return new AllowList(patterns.map((pattern, index) => parseEntry(pattern, `${optionName}[${index}]`)));
  }

  get allowsEverything(): boolean {
    return this.entries === undefined;
  }

  /** The first entry admitting `host:port`, or undefined when none does. */
  match(host: string, port: number): string | undefined {
    if (this.entries === undefined) return '*';
    const name = normalizeHost(host);
    const family = isIP(name);
    return this.entries.find((entry) => port >= entry.portFrom && port <= entry.portTo && hostMatches(entry.host, name, family))?.text;
  }

  allows(host: string, port: number): boolean {
    return this.match(host, port) !== undefined;
  }
}

function hostMatches(matcher: HostMatcher, host: string, family: number): boolean {
  switch (matcher.kind) {
    case 'any':
      return true;
    case 'name':
      return family === 0 && host === matcher.name;
    case 'suffix':
      return family === 0 && host.endsWith(matcher.suffix) && host.length > matcher.suffix.length;
    case 'addresses':
      return family !== 0 && matcher.list.check(host, family === 6 ? 'ipv6' : 'ipv4');
  }
}

function normalizeHost(host: string): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const lower = bare.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

const NAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,62})(?:\.[a-z0-9_](?:[a-z0-9_-]{0,62}))*$/;

function parseEntry(pattern: unknown, where: string): AllowEntry {
  const bad = (why: string): never => {
    throw new InvalidOptionError(
      `${where} must be "host:port" such as "*.internal:443", "10.0.0.0/8:5432", "[fd00::]/8:443" or "db.example.com:*" (${why}), got ${JSON.stringify(pattern)}`,
    );
  };
  if (typeof pattern !== 'string') return bad('not a string');
  const colon = pattern.lastIndexOf(':');
  if (colon <= 0) return bad('no port');
  const hostPart = pattern.slice(0, colon);
  const [portFrom, portTo] = parsePorts(pattern.slice(colon + 1)) ?? bad('the port must be a number 1–65535, a range such as 8000-8099, or *');
  return { text: pattern, host: parseHost(hostPart) ?? bad('unrecognised host'), portFrom, portTo };
}

function parsePorts(text: string): [number, number] | undefined {
  if (text === '*') return [1, 65535];
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (match === null) return undefined;
  const from = Number(match[1]);
  const to = match[2] === undefined ? from : Number(match[2]);
  return from >= 1 && to <= 65535 && from <= to ? [from, to] : undefined;
}

function parseHost(text: string): HostMatcher | undefined {
  if (text === '*') return { kind: 'any' };
  // `[v6]`, `[v6]/len`, `[v6/len]`, `v4`, `v4/len`.
  const bracketed = /^\[([^\]]+)\](?:\/(\d{1,3}))?$/.exec(text);
  const [address, prefixText] = bracketed !== null ? splitPrefix(bracketed[1]!, bracketed[2]) : splitPrefix(text, undefined);
  const family = isIP(address);
  if (family !== 0) {
    if (bracketed === null && family === 6) return undefined;
    const bits = family === 4 ? 32 : 128;
    if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
    const prefix = prefixText === undefined ? bits : Number(prefixText);
    if (prefix > bits) return undefined;
    const list = new BlockList();
    list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
    return { kind: 'addresses', list };
  }
  if (bracketed !== null || prefixText !== undefined) return undefined;
  const name = normalizeHost(text);
  if (name.startsWith('*.')) return NAME.test(name.slice(2)) ? { kind: 'suffix', suffix: name.slice(1) } : undefined;
  return NAME.test(name) ? { kind: 'name', name } : undefined;
}

function splitPrefix(text: string, outerPrefix: string | undefined): [string, string | undefined] {
  const slash = text.indexOf('/');
  if (slash < 0) return [text, outerPrefix];
  if (outerPrefix !== undefined) return ['', undefined];
  return [text.slice(0, slash), text.slice(slash + 1)];
}
