import type { ManagedNode, ManagedNodeFilter } from '../aws/session-api.js';
import type { SsmSessionApi } from '../aws/ssm-session-api.js';
import { errorCode } from '../errors.js';
import { isAgentVersionGreater, MUX_AFTER_AGENT } from '../protocol/version.js';

/*
 * The managed nodes as `targets` and the picker show them: DescribeInstanceInformation for the
 * nodes, DescribeInstanceProperties for their Name tags (which the former does not return). A
 * denied or failing name lookup leaves names empty and says why; it never hides the list.
 */

export interface NodeRow {
  id: string;
  /** The EC2 Name tag, when known. */
  name?: string;
  pingStatus: string;
  platformType?: string;
  platformName?: string;
  agentVersion?: string;
  /** Whether the agent multiplexes connections over one session (docs/forwarding.md §2.1); unknown without a version. */
  supportsMux?: boolean;
  lastPingAt?: string;
}

export interface NodeListing {
  nodes: NodeRow[];
  /** Why the Name column is empty, when the name lookup failed. */
  namesUnavailable?: string;
}

export interface NodeQuery {
  /** Key=Value pairs every node must carry. */
  tags?: Record<string, string>;
  /** The Name tag. */
  name?: string;
  onlineOnly?: boolean;
}

export function nodeFilters(query: NodeQuery): ManagedNodeFilter[] {
  const filters: ManagedNodeFilter[] = Object.entries(query.tags ?? {}).map(([key, value]) => ({ key: `tag:${key}`, values: [value] }));
  if (query.name !== undefined) filters.push({ key: 'tag:Name', values: [query.name] });
  if (query.onlineOnly === true) filters.push({ key: 'PingStatus', values: ['Online'] });
  return filters;
}

export async function listNodes(api: Pick<SsmSessionApi, 'describeManagedNodes' | 'describeNodeNames'>, query: NodeQuery): Promise<NodeListing> {
  const [nodes, names] = await Promise.all([
    api.describeManagedNodes(nodeFilters(query)),
    api.describeNodeNames().then(
      (map) => ({ map }),
      (error: unknown) => ({ map: new Map<string, string>(), failure: describeNameFailure(error) }),
    ),
  ]);
  return {
    nodes: nodes.map((node) => toRow(node, names.map.get(node.instanceId))),
    ...('failure' in names ? { namesUnavailable: names.failure } : {}),
  };
}

function describeNameFailure(error: unknown): string {
  const code = errorCode(error);
  if (code === 'AccessDeniedException') return 'Name tags need ssm:DescribeInstanceProperties, which is not allowed here';
  return `Name tags could not be read (DescribeInstanceProperties: ${code})`;
}

function toRow(node: ManagedNode, name: string | undefined): NodeRow {
  return {
    id: node.instanceId,
    ...(name === undefined ? {} : { name }),
    pingStatus: node.pingStatus,
    ...(node.platformType === undefined ? {} : { platformType: node.platformType }),
    ...(node.platformName === undefined ? {} : { platformName: node.platformName }),
    ...(node.agentVersion === undefined ? {} : { agentVersion: node.agentVersion, supportsMux: isAgentVersionGreater(node.agentVersion, MUX_AFTER_AGENT) }),
    ...(node.lastPingAt === undefined ? {} : { lastPingAt: node.lastPingAt.toISOString() }),
  };
}

const HEADERS = ['ID', 'NAME', 'PLATFORM', 'PING', 'AGENT', 'MUX', 'LAST PING'] as const;

/** A plain-text table, columns padded to their widest cell (kubectl get's look). */
export function formatNodeTable(rows: readonly NodeRow[]): string {
  const cells = rows.map((row) => [
    row.id,
    row.name ?? '-',
    row.platformName ?? row.platformType ?? '-',
    row.pingStatus,
    row.agentVersion ?? '-',
    row.supportsMux === undefined ? '-' : row.supportsMux ? 'yes' : 'no',
    row.lastPingAt === undefined ? '-' : `${row.lastPingAt.slice(0, 19).replace('T', ' ')}Z`,
  ]);
  const table = [[...HEADERS], ...cells];
  const widths = HEADERS.map((_, column) => Math.max(...table.map((line) => line[column]!.length)));
  return table.map((line) => line.map((cell, column) => (column === line.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')).join('\n');
}
