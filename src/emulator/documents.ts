import { ApiError, validationError } from './api-errors.js';

/*
 * The Port session documents: parameter validation and defaults, and the resolved `properties` the
 * agent hands to the client in the handshake (docs/forwarding.md §1.2). The two port-forwarding ones set
 * `type: LocalPortForwarding`; AWS-StartSSHSession sets no `type`, which makes the agent run basic
 * mode and end the session when the destination closes.
 */

export const PORT_FORWARDING_DOCUMENT = 'AWS-StartPortForwardingSession';
export const REMOTE_HOST_DOCUMENT = 'AWS-StartPortForwardingSessionToRemoteHost';
export const SSH_DOCUMENT = 'AWS-StartSSHSession';

export interface ResolvedDocument {
  documentName: string;
  /** All values are strings, in the order the agent echoes them (docs/forwarding.md §1.1). */
  properties: Record<string, string>;
  /** `host` of the ToRemoteHost document; undefined for the plain document (the target itself). */
  host?: string;
  port: number;
}

// docs/forwarding.md §1.2: decimal, no leading zeros; portNumber 1–65535, localPortNumber 0–65535.
const PORT_PATTERN = /^(?:[1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5])$/;
const LOCAL_PORT_PATTERN = /^(?:0|[1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5])$/;

interface ParameterSpec {
  defaultValue?: string;
  pattern?: RegExp;
  patternText?: string;
}

const PORT_NUMBER: ParameterSpec = { defaultValue: '80', pattern: PORT_PATTERN, patternText: 'a decimal port 1-65535 without leading zeros' };
const SSH_PORT_NUMBER: ParameterSpec = { ...PORT_NUMBER, defaultValue: '22' };
const LOCAL_PORT_NUMBER: ParameterSpec = {
  defaultValue: '0',
  pattern: LOCAL_PORT_PATTERN,
  patternText: 'a decimal port 0-65535 without leading zeros',
};

const DOCUMENTS: Record<string, Record<string, ParameterSpec>> = {
  [PORT_FORWARDING_DOCUMENT]: { portNumber: PORT_NUMBER, localPortNumber: LOCAL_PORT_NUMBER },
  [REMOTE_HOST_DOCUMENT]: { host: {}, portNumber: PORT_NUMBER, localPortNumber: LOCAL_PORT_NUMBER },
  [SSH_DOCUMENT]: { portNumber: SSH_PORT_NUMBER },
};

export function resolveDocument(documentName: string | undefined, parameters: Readonly<Record<string, string[]>>): ResolvedDocument {
  if (documentName === undefined) {
    // Without a document the service starts a shell (SSM-SessionManagerRunShell), which is not emulated.
    throw new ApiError('InvalidDocument', `DocumentName is required: the emulator supports only ${Object.keys(DOCUMENTS).join(', ')}`);
  }
  const specs = DOCUMENTS[documentName];
  if (specs === undefined) {
    throw new ApiError('InvalidDocument', `Document ${documentName} does not exist (the emulator supports ${Object.keys(DOCUMENTS).join(', ')})`);
  }
  for (const name of Object.keys(parameters)) {
    if (specs[name] === undefined) throw validationError(`Parameter "${name}" is not defined by document ${documentName}`);
  }
  const values: Record<string, string> = {};
  for (const [name, spec] of Object.entries(specs)) {
    values[name] = parameterValue(documentName, name, spec, parameters[name]);
  }
  const { host, portNumber = '', localPortNumber = '' } = values;
  const properties: Record<string, string> = host === undefined ? {} : { host };
  if (documentName === SSH_DOCUMENT) Object.assign(properties, { portNumber });
  else Object.assign(properties, { portNumber, type: 'LocalPortForwarding', localPortNumber });
  return { documentName, properties, ...(host === undefined ? {} : { host }), port: Number(portNumber) };
}

function parameterValue(documentName: string, name: string, spec: ParameterSpec, given: string[] | undefined): string {
  if (given === undefined) {
    if (spec.defaultValue !== undefined) return spec.defaultValue;
    throw validationError(`Parameter "${name}" is required by document ${documentName}`);
  }
  if (given.length !== 1) throw validationError(`Parameter "${name}" takes exactly one value, got ${given.length}`);
  const [value = ''] = given;
  if (value === '') throw validationError(`Parameter "${name}" must not be empty`);
  if (spec.pattern !== undefined && !spec.pattern.test(value)) {
    throw validationError(`Parameter "${name}" value "${value}" does not match the allowed pattern: ${spec.patternText}`);
  }
  return value;
}
