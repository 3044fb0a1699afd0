import { ecsServiceTargetProblem, formatEcsServiceTarget, parseEcsTargetId, resolveEcsServiceTarget, ECS_ID_PREFIX, type EcsServiceTarget } from './ecs-target.js';
import type { ManagedNode, ManagedNodeFilter, SessionApi } from './session-api.js';

/*
 * Targets given by name or tag instead of id: resolved with DescribeInstanceInformation to exactly
 * one online managed node, or an error that lists what was found.
 */

/**
 * What a tunnel connects to: an instance or managed node id (`i-…`, `mi-…`), an ECS task
 * (`ecs:<cluster>_<task id>_<runtime id>`), `name:<Name tag>`, `{ tag: { Key: Value, … } }` (a node
 * carrying every one of these tags), or `{ ecs: { cluster, service, container? } }` (a running task
 * of that service).
 */
export type TargetSpec = string | { tag: Record<string, string> } | { ecs: EcsServiceTarget };

const NAME_PREFIX = 'name:';
/** AWS tag limits: keys up to 128 characters, values up to 256. */
const MAX_TAG_KEY = 128;
const MAX_TAG_VALUE = 256;
/** Nodes named in an error message; more are counted, not listed. */
const LISTED_NODES = 10;

/** Why a target could not be resolved; `name` tells the kind, for callers that decide on it. */
export class TargetResolutionError extends Error {
  constructor(
    override readonly name: 'TargetNotFound' | 'AmbiguousTarget' | 'TargetLookupUnavailable',
    message: string,
    /** The nodes the lookup found (online or not). */
    readonly candidates: readonly ManagedNode[] = [],
  ) {
    super(message);
  }
}

/** The tags a spec selects by, or undefined when it is a node id used as is. */
export function targetTags(spec: TargetSpec): Record<string, string> | undefined {
  if (typeof spec !== 'string') return 'tag' in spec ? spec.tag : undefined;
  return spec.startsWith(NAME_PREFIX) ? { Name: spec.slice(NAME_PREFIX.length) } : undefined;
}

/** For logs, status and errors: the id, `name:<Name>`, or `tag:Key=Value,…`. */
export function formatTarget(spec: TargetSpec): string {
  if (typeof spec === 'string') return spec;
  if ('ecs' in spec) return formatEcsServiceTarget(spec.ecs);
  return `tag:${Object.entries(spec.tag)
    .map(([key, value]) => `${key}=${value}`)
    .join(',')}`;
}

/** Undefined when `spec` is acceptable; otherwise what is wrong with it. */
export function targetSpecProblem(spec: unknown): string | undefined {
  if (typeof spec === 'string') {
    if (spec.startsWith(NAME_PREFIX)) return tagProblem('Name', spec.slice(NAME_PREFIX.length));
    if (spec === '' || /\s/.test(spec) || spec.length > 400) return 'an id has no spaces and at most 400 characters';
    if (spec.startsWith(ECS_ID_PREFIX) && parseEcsTargetId(spec) === undefined) return 'an ECS task target is ecs:<cluster>_<task id>_<container runtime id>';
    return undefined;
  }
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) return 'expected an id, "name:<Name tag>", { tag: { Key: Value } } or { ecs: { cluster, service } }';
  const keys = Object.keys(spec);
  if (keys.length === 1 && keys[0] === 'ecs') return ecsServiceTargetProblem((spec as { ecs: unknown }).ecs);
  if (keys.length !== 1 || keys[0] !== 'tag') return `a target mapping has exactly one key, "tag" or "ecs", got ${keys.map((k) => JSON.stringify(k)).join(', ') || 'none'}`;
  const tags = (spec as { tag: unknown }).tag;
  if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) return 'tag must be a mapping of tag keys to values';
  const entries = Object.entries(tags);
  if (entries.length === 0) return 'tag must name at least one tag';
  for (const [key, value] of entries) {
    const problem = tagProblem(key, value);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function tagProblem(key: string, value: unknown): string | undefined {
  if (key === '' || key.length > MAX_TAG_KEY) return `tag key ${JSON.stringify(key)} must have 1–${MAX_TAG_KEY} characters`;
  if (typeof value !== 'string' || value === '' || value.length > MAX_TAG_VALUE) {
    return `tag ${key} must be a string of 1–${MAX_TAG_VALUE} characters, got ${JSON.stringify(value)}`;
  }
  return undefined;
}

/**
 * The node id to start a session with. An id is returned as given; a name or tags are looked up
 * (every page), and exactly one matching node must be online; an ECS service is resolved to one of
 * its running tasks (ecs-target.ts).
 */
export async function resolveTarget(spec: TargetSpec, api: SessionApi): Promise<string> {
  if (typeof spec !== 'string' && 'ecs' in spec) return resolveEcsServiceTarget(spec.ecs, api);
  const tags = targetTags(spec);
  if (tags === undefined) return spec as string;
  const wanted = formatTarget(spec);
  if (api.describeManagedNodes === undefined) {
    throw new TargetResolutionError('TargetLookupUnavailable', `target ${wanted} needs DescribeInstanceInformation, which this session API does not offer; give an instance id`);
  }
  const filters: ManagedNodeFilter[] = Object.entries(tags).map(([key, value]) => ({ key: `tag:${key}`, values: [value] }));
  const nodes = await api.describeManagedNodes(filters);
  const online = nodes.filter((node) => node.pingStatus === 'Online');
  if (online.length === 1) return online[0]!.instanceId;
  const what = `with ${describeTags(tags)}`;
  if (online.length > 1) {
    throw new TargetResolutionError(
      'AmbiguousTarget',
      `${online.length} online managed nodes ${what}: ${listNodes(online)}; give an instance id or a tag that tells them apart`,
      nodes,
    );
  }
  const offline = nodes.length === 0 ? '' : `; ${nodes.length} matching but not online: ${listNodes(nodes)}`;
  throw new TargetResolutionError('TargetNotFound', `no online managed node ${what}${offline}`, nodes);
}

function describeTags(tags: Record<string, string>): string {
  const entries = Object.entries(tags);
  return `${entries.length === 1 ? 'tag' : 'tags'} ${entries.map(([key, value]) => `${key}=${value}`).join(', ')}`;
}

function listNodes(nodes: readonly ManagedNode[]): string {
  const listed = nodes.slice(0, LISTED_NODES).map((node) => {
    const name = node.computerName === node.instanceId ? undefined : node.computerName;
    const details = [name, node.pingStatus === 'Online' ? undefined : node.pingStatus].filter((d) => d !== undefined);
    return details.length === 0 ? node.instanceId : `${node.instanceId} (${details.join(', ')})`;
  });
  const more = nodes.length - listed.length;
  return more > 0 ? `${listed.join(', ')} and ${more} more` : listed.join(', ');
}
