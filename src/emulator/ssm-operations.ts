import { ApiError, internalServerError, missingMember, serializationError, validationError } from './api-errors.js';
import { resolveDocument } from './documents.js';
import { instanceInformation, selectTargets } from './instance-information.js';
import type { InstanceFilter } from './instance-information.js';
import type { EmulatedSession, SessionRegistry } from './session-registry.js';
import { dialHost, formatDestination } from './targets.js';
import type { TargetDirectory } from './targets.js';

/*
 * The four SSM operations the emulator answers, on parsed JSON bodies, returning JSON bodies or
 * throwing ApiError. Shapes follow the AWS JSON 1.1 model of StartSession, ResumeSession,
 * TerminateSession and DescribeInstanceInformation (docs/protocol.md §1.3).
 */

export type JsonObject = Record<string, unknown>;

export interface SsmOperationsOptions {
  sessions: SessionRegistry;
  targets: TargetDirectory;
  streamUrl: (sessionId: string) => string;
  /** Ends the session for good and tells the agent; a no-op for a session that has already ended. */
  terminate: (sessionId: string, reason: string) => void;
}

const DESCRIBE_PAGE_SIZE = { min: 5, max: 50 } as const;

export class SsmOperations {
  private resumeRejections: { remaining: number; error: ApiError } = { remaining: 0, error: internalServerError() };

  constructor(private readonly options: SsmOperationsOptions) {}

  /** Fault knob: the next `count` ResumeSession calls fail with `error` (default: a 500 InternalServerError). */
  rejectNextResumeSessions(count: number, error: ApiError = internalServerError()): void {
    this.resumeRejections = { remaining: count, error };
  }

  run(operation: string, input: JsonObject): JsonObject {
    switch (operation) {
      case 'StartSession':
        return this.startSession(input);
      case 'ResumeSession':
        return this.resumeSession(input);
      case 'TerminateSession':
        return this.terminateSession(input);
      case 'DescribeInstanceInformation':
        return this.describeInstanceInformation(input);
      default:
        throw new ApiError('UnknownOperationException', `Operation ${operation} is not supported by the emulator`);
    }
  }

  private startSession(input: JsonObject): JsonObject {
    const targetId = requiredString(input, 'Target', 'target');
    const reason = optionalString(input, 'Reason');
    if (reason !== undefined && (reason.length < 1 || reason.length > 256)) {
      throw validationError(`Reason must be 1-256 characters, got ${reason.length}`);
    }
    const parameters = parametersOf(input);
    const document = resolveDocument(optionalString(input, 'DocumentName'), parameters);
    const target = this.options.targets.get(targetId);
    if (target === undefined || target.pingStatus !== 'Online') throw new ApiError('TargetNotConnected', `${targetId} is not connected.`);
    const host = document.host ?? target.address;
    if (!this.options.targets.isAllowed(target, host, document.port)) {
      throw new ApiError(
        'AccessDeniedException',
        `Not authorized to perform ssm:StartSession on target ${targetId} with destination ${formatDestination(host, document.port)} ` +
          `(allowed: ${target.allowedDestinations.join(', ')})`,
      );
    }
    const { session, token } = this.options.sessions.create({
      target: targetId,
      documentName: document.documentName,
      parameters,
      properties: document.properties,
      destination: { host: dialHost(target, host), port: document.port },
      ...(reason === undefined ? {} : { reason }),
    });
    return { SessionId: session.id, TokenValue: token, StreamUrl: this.options.streamUrl(session.id) };
  }

  private resumeSession(input: JsonObject): JsonObject {
    const sessionId = requiredString(input, 'SessionId', 'sessionId');
    if (this.resumeRejections.remaining > 0) {
      this.resumeRejections.remaining -= 1;
      throw this.resumeRejections.error;
    }
    const session = this.existingSession(sessionId);
    const token = this.options.sessions.issueToken(session);
    // A session that has ended resumes with no TokenValue (docs/protocol.md §9.2): the client must start anew.
    return { SessionId: session.id, ...(token === undefined ? {} : { TokenValue: token }), StreamUrl: this.options.streamUrl(session.id) };
  }

  private terminateSession(input: JsonObject): JsonObject {
    const sessionId = requiredString(input, 'SessionId', 'sessionId');
    this.options.terminate(this.existingSession(sessionId).id, 'TerminateSession called');
    return { SessionId: sessionId };
  }

  private describeInstanceInformation(input: JsonObject): JsonObject {
    const filterList = filtersOf(input, 'InstanceInformationFilterList', 'key', 'valueSet');
    const stringFilters = filtersOf(input, 'Filters', 'Key', 'Values');
    const maxResults = optionalInteger(input, 'MaxResults') ?? DESCRIBE_PAGE_SIZE.max;
    if (maxResults < DESCRIBE_PAGE_SIZE.min || maxResults > DESCRIBE_PAGE_SIZE.max) {
      throw validationError(`MaxResults must be ${DESCRIBE_PAGE_SIZE.min}-${DESCRIBE_PAGE_SIZE.max}, got ${maxResults}`);
    }
    const start = pageStart(optionalString(input, 'NextToken'));
    const matching = selectTargets(this.options.targets.list(), filterList, stringFilters);
    const page = matching.slice(start, start + maxResults);
    const now = new Date();
    const end = start + page.length;
    return {
      InstanceInformationList: page.map((target) => instanceInformation(target, now)),
      ...(end < matching.length ? { NextToken: nextPageToken(end) } : {}),
    };
  }

  private existingSession(sessionId: string): EmulatedSession {
    const session = this.options.sessions.get(sessionId);
    if (session === undefined) throw new ApiError('DoesNotExistException', `Session ${sessionId} does not exist`);
    return session;
  }
}

/** Where a page starts: the offset an earlier page's token carries (tokens are opaque to callers). */
export function pageStart(nextToken: string | undefined, invalid = (): ApiError => new ApiError('InvalidNextToken', 'The NextToken is not one this service issued')): number {
  if (nextToken === undefined) return 0;
  const match = /^offset:(\d+)$/.exec(Buffer.from(nextToken, 'base64').toString('utf8'));
  if (!match) throw invalid();
  return Number(match[1]);
}

/** The token of the page after one that ended at `end`. */
export function nextPageToken(end: number): string {
  return Buffer.from(`offset:${end}`).toString('base64');
}

export function optionalString(input: JsonObject, name: string): string | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw serializationError(`${name}: expected a string, got ${typeof value}`);
  return value;
}

/** `member` is the lower-camel name AWS's validation messages use. */
function requiredString(input: JsonObject, name: string, member: string): string {
  const value = optionalString(input, name);
  if (value === undefined) throw missingMember(member);
  if (value === '') throw validationError(`${name} must not be empty`);
  return value;
}

function optionalInteger(input: JsonObject, name: string): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw serializationError(`${name}: expected an integer, got ${JSON.stringify(value)}`);
  return value;
}

function stringList(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw serializationError(`${what}: expected a list of strings, got ${JSON.stringify(value)}`);
  }
  return value;
}

function parametersOf(input: JsonObject): Record<string, string[]> {
  const value = input.Parameters;
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw serializationError(`Parameters: expected a map of lists of strings`);
  const parameters: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(value as JsonObject)) parameters[name] = stringList(values, `Parameters.${name}`);
  return parameters;
}

function filtersOf(input: JsonObject, name: string, keyField: string, valuesField: string): InstanceFilter[] {
  const value = input[name];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw serializationError(`${name}: expected a list`);
  return value.map((filter: unknown, i) => {
    const at = `${name}[${i}]`;
    if (typeof filter !== 'object' || filter === null) throw serializationError(`${at}: expected an object`);
    const entry = filter as JsonObject;
    const key = entry[keyField];
    if (typeof key !== 'string') throw serializationError(`${at}.${keyField}: expected a string`);
    return { key, values: stringList(entry[valuesField] ?? [], `${at}.${valuesField}`) };
  });
}
