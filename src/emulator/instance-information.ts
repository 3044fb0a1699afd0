import { ApiError } from './api-errors.js';
import type { EmulatedTarget } from './targets.js';

/*
 * DescribeInstanceInformation over the configured targets: the two filter lists the API accepts
 * and the InstanceInformation records it returns.
 */

export interface InstanceFilter {
  key: string;
  values: readonly string[];
}

type Matcher = (target: EmulatedTarget) => boolean;

const resourceType = (target: EmulatedTarget): string => (target.id.startsWith('mi-') ? 'ManagedInstance' : 'EC2Instance');

/** Keys both lists accept; `Filters` also takes `tag-key` and `tag:<Key>`. */
const FILTERABLE_FIELDS: Record<string, (target: EmulatedTarget) => string> = {
  InstanceIds: (target) => target.id,
  PingStatus: (target) => target.pingStatus,
  PlatformTypes: (target) => target.platform.type,
  ResourceType: resourceType,
};

function matcher(filter: InstanceFilter, allowTags: boolean): Matcher {
  if (filter.values.length === 0) {
    throw new ApiError('InvalidInstanceInformationFilterValue', `Filter ${filter.key} needs at least one value`);
  }
  const wanted = new Set(filter.values);
  const read = FILTERABLE_FIELDS[filter.key];
  if (read !== undefined) return (target) => wanted.has(read(target));
  if (allowTags && filter.key === 'tag-key') return (target) => Object.keys(target.tags).some((key) => wanted.has(key));
  if (allowTags && filter.key.startsWith('tag:') && filter.key.length > 4) {
    const tagKey = filter.key.slice(4);
    return (target) => {
      const value = target.tags[tagKey];
      return value !== undefined && wanted.has(value);
    };
  }
  const supported = [...Object.keys(FILTERABLE_FIELDS), ...(allowTags ? ['tag-key', 'tag:<Key>'] : [])].join(', ');
  throw new ApiError('InvalidFilterKey', `Filter key ${filter.key} is not supported here (supported: ${supported})`);
}

/**
 * Targets matching every filter: `filterList` is InstanceInformationFilterList (no tag keys),
 * `stringFilters` is Filters. Within one filter any value matches.
 */
export function selectTargets(targets: readonly EmulatedTarget[], filterList: readonly InstanceFilter[], stringFilters: readonly InstanceFilter[]): EmulatedTarget[] {
  const matchers = [...filterList.map((f) => matcher(f, false)), ...stringFilters.map((f) => matcher(f, true))];
  return targets.filter((target) => matchers.every((matches) => matches(target)));
}

/** One InstanceInformation record as the JSON 1.1 API returns it (timestamps in epoch seconds). */
export function instanceInformation(target: EmulatedTarget, now: Date): Record<string, unknown> {
  return {
    InstanceId: target.id,
    PingStatus: target.pingStatus,
    LastPingDateTime: (target.lastPingAt ?? now).getTime() / 1000,
    ...(target.agentVersion === undefined ? {} : { AgentVersion: target.agentVersion }),
    PlatformType: target.platform.type,
    PlatformName: target.platform.name,
    PlatformVersion: target.platform.version,
    ResourceType: resourceType(target),
    IPAddress: target.address,
    ComputerName: target.computerName,
  };
}

/** One InstanceProperty record (DescribeInstanceProperties): what the console lists, the Name tag included. */
export function instanceProperty(target: EmulatedTarget, now: Date): Record<string, unknown> {
  return { ...instanceInformation(target, now), Name: target.tags.Name ?? '' };
}
