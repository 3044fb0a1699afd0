/*
 * The daemon's YAML config: parsed and validated completely before anything starts, every error
 * with file, line, column and field. `config.example.yaml` at the repository root documents it.
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, type YAMLError } from 'yaml';
import { ConfigReader } from './config-reader.js';
import type { ConfigError } from './config-reader.js';
import { readConfig } from './config-schema.js';
import type { DaemonConfig, TunnelDefinition } from './config-schema.js';

export { formatConfigError } from './config-reader.js';
export type { ConfigError } from './config-reader.js';
export {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_LOCAL_HOST,
  DEFAULT_SHUTDOWN_GRACE_MS,
  LOG_FORMATS,
  LOG_LEVELS,
} from './config-schema.js';
export type { DaemonConfig, LogFormat, LogLevel, StatusEndpoint, TunnelDefinition } from './config-schema.js';
export { parseDuration } from './duration.js';

export type ConfigResult = { config: DaemonConfig } | { errors: ConfigError[] };

/** Parses and validates `text`; `file` is only used to name where errors are. */
export function parseConfig(text: string, file: string): ConfigResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const syntaxErrors = [...doc.errors, ...doc.warnings];
  if (syntaxErrors.length > 0) {
    // A document that is not valid YAML cannot be checked field by field: report the syntax only.
    return {
      errors: sortedByPosition(
        syntaxErrors.map((error) => {
          const { line, col } = lines.linePos(error.pos[0]);
          return { file, line, column: col, path: '', message: `invalid YAML: ${syntaxMessage(error)}` };
        }),
      ),
    };
  }
  const reader = new ConfigReader(file, doc, lines);
  const config = readConfig(reader);
  // Every error is reported when found; `config` is only complete when none was.
  return config === undefined || reader.errors.length > 0 ? { errors: sortedByPosition(reader.errors) } : { config };
}

/** Reads and parses the file at `path`; a missing or unreadable file is one error naming the path. */
export async function loadConfig(path: string): Promise<ConfigResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return { errors: [{ file: path, path: '', message: readFailure(error) }] };
  }
  return parseConfig(text, path);
}

/**
 * The YAML parser's message without the piece of the document it quotes: the line may hold a
 * secret (`\xZZ` in a secret access key came back as "Invalid escape sequence \xZZ"), and the
 * position already says where to look.
 */
function syntaxMessage(error: YAMLError): string {
  switch (error.code) {
    case 'BAD_DQ_ESCAPE':
      return 'invalid escape sequence in a double-quoted string (write \\\\ for a backslash, or use single quotes)';
    case 'BAD_SCALAR_START':
      return 'a plain value cannot start with a reserved character such as @ or `; quote it';
    case 'TAG_RESOLVE_FAILED':
      return 'unresolved tag; quote a value that starts with !';
    default: {
      // Messages that quote the document end with ": <source>".
      const colon = error.message.indexOf(': ');
      return colon < 0 ? error.message : error.message.slice(0, colon);
    }
  }
}

function readFailure(error: unknown): string {
  const code = error instanceof Error && 'code' in error ? error.code : undefined;
  switch (code) {
    case 'ENOENT':
      return 'cannot read the config: no such file';
    case 'EACCES':
    case 'EPERM':
      return 'cannot read the config: permission denied';
    case 'EISDIR':
      return 'cannot read the config: it is a directory';
    default:
      return `cannot read the config: ${error instanceof Error ? error.message : String(error)}`;
  }
}

function sortedByPosition(errors: ConfigError[]): ConfigError[] {
  return errors.toSorted((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

/** Whether reloading should leave a running tunnel alone: every resolved setting is the same. */
export function tunnelDefinitionsEqual(a: TunnelDefinition, b: TunnelDefinition): boolean {
  return sameValue(a, b);
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const aKeys = definedKeys(a);
  const bKeys = definedKeys(b);
  return (
    aKeys.length === bKeys.length &&
    aKeys.every((key) => bKeys.includes(key) && sameValue((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]))
  );
}

/** Keys holding a value: `{ profile: undefined }` and `{}` configure the same thing. */
function definedKeys(value: object): string[] {
  return Object.entries(value)
    .filter(([, entry]) => entry !== undefined)
    .map(([key]) => key);
}
