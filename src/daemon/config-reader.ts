/*
 * Walks a parsed YAML document keeping every value's position, so that each config error can
 * name the file, line, column and field. Collects errors instead of stopping at the first.
 */
import { isAlias, isMap, isScalar, isSeq } from 'yaml';
import type { Document, LineCounter, Node } from 'yaml';
import { closestKey } from './config-suggest.js';

export interface ConfigError {
  file: string;
  /** 1-based; absent for errors about the file as a whole (not found, unreadable). */
  line?: number;
  /** 1-based; present whenever `line` is. */
  column?: number;
  /** The field, e.g. `tunnels[2].remote.port`; empty for YAML syntax and file errors. */
  path: string;
  /** What is wrong and what is expected. */
  message: string;
}

/** `tunnels.yaml:12:11 tunnels[2].remote.port: expected an integer 1–65535, got "54x2"` */
export function formatConfigError(error: ConfigError): string {
  const where = error.line === undefined ? `${error.file}:` : `${error.file}:${error.line}:${error.column ?? 1}`;
  return error.path === '' ? `${where} ${error.message}` : `${where} ${error.path}: ${error.message}`;
}

/** A value in the document and where it is; `node` is null for an empty value (`key:`). */
export interface Located {
  node: Node | null;
  path: string;
  /** Where the value starts: errors about the value point here. */
  offset: number;
  /** Where its key (or list item) starts: errors about the field as a whole point here. */
  keyOffset: number;
}

export interface MappingShape {
  keys: readonly string[];
  /** Keys that do not belong here but mean something elsewhere, with a hint where they go. */
  misplaced?: Readonly<Record<string, string>>;
}

/** The fields found in one mapping. */
export class Fields {
  constructor(
    private readonly reader: ConfigReader,
    readonly at: Located,
    private readonly entries: ReadonlyMap<string, Located>,
  ) {}

  has(key: string): boolean {
    return this.entries.has(key);
  }

  optional(key: string): Located | undefined {
    return this.entries.get(key);
  }

  /** The field, or undefined after reporting it missing (at the mapping's position). */
  required(key: string, expected: string): Located | undefined {
    const found = this.entries.get(key);
    if (found === undefined) {
      this.reader.report({ offset: this.at.keyOffset, path: childPath(this.at.path, key) }, `missing; expected ${expected}`);
    }
    return found;
  }
}

export class ConfigReader {
  readonly errors: ConfigError[] = [];

  constructor(
    private readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  root(): Located | undefined {
    return this.located(this.doc.contents, '', 0, 0);
  }

  lineOf(at: Located): number {
    return this.lines.linePos(at.offset).line;
  }

  /** Reports a problem with the field as a whole (a conflict, an impossible combination). */
  reportField(at: Located, message: string): void {
    this.report({ path: at.path, offset: at.keyOffset }, message);
  }

  report(at: Pick<Located, 'path' | 'offset'>, message: string): void {
    const { line, col } = this.lines.linePos(at.offset);
    this.errors.push({ file: this.file, line, column: col, path: at.path, message });
  }

  /** The mapping's fields; reports unknown keys. Undefined (reported) when `at` is not a mapping. */
  fields(at: Located, shape: MappingShape, expected: string): Fields | undefined {
    if (!isMap(at.node)) {
      this.report(at, `expected ${expected}, got ${describe(at.node)}`);
      return undefined;
    }
    const entries = new Map<string, Located>();
    for (const pair of at.node.items) {
      const keyNode = isAlias(pair.key) ? pair.key.resolve(this.doc) : pair.key;
      const keyOffset = nodeOffset(pair.key, at.offset);
      const key = isScalar(keyNode) ? keyNode.value : undefined;
      if (typeof key !== 'string' || !shape.keys.includes(key)) {
        const shown = typeof key === 'string' ? key : describe(keyNode ?? null);
        this.report({ offset: keyOffset, path: childPath(at.path, shown) }, unknownKey(shown, shape));
        continue;
      }
      const value = this.located(pair.value as Node | null, childPath(at.path, key), keyOffset, keyOffset);
      if (value !== undefined) entries.set(key, value);
    }
    return new Fields(this, at, entries);
  }

  /**
   * A mapping whose keys are data (tag keys, say), every entry with its key. Undefined (reported)
   * when `at` is not a mapping.
   */
  entries(at: Located, expected: string): { key: string; at: Located }[] | undefined {
    if (!isMap(at.node)) {
      this.report(at, `expected ${expected}, got ${describe(at.node)}`);
      return undefined;
    }
    const entries: { key: string; at: Located }[] = [];
    for (const pair of at.node.items) {
      const keyNode = isAlias(pair.key) ? pair.key.resolve(this.doc) : pair.key;
      const keyOffset = nodeOffset(pair.key, at.offset);
      const key = isScalar(keyNode) ? keyNode.value : undefined;
      if (typeof key !== 'string' || key === '') {
        this.report({ offset: keyOffset, path: childPath(at.path, describe(keyNode ?? null)) }, `expected a non-empty text key, got ${describe(keyNode ?? null)}`);
        continue;
      }
      const value = this.located(pair.value as Node | null, childPath(at.path, key), keyOffset, keyOffset);
      if (value !== undefined) entries.push({ key, at: value });
    }
    return entries;
  }

  /** The list's items. Undefined (reported) when `at` is not a list, or is empty and must not be. */
  items(at: Located, expected: string, { whenEmpty }: { whenEmpty?: string } = {}): Located[] | undefined {
    if (!isSeq(at.node)) {
      this.report(at, `expected ${expected}, got ${describe(at.node)}`);
      return undefined;
    }
    if (whenEmpty !== undefined && at.node.items.length === 0) {
      this.report(at, whenEmpty);
      return undefined;
    }
    const items: Located[] = [];
    at.node.items.forEach((item, index) => {
      const itemOffset = nodeOffset(item, at.offset);
      const located = this.located(item as Node | null, `${at.path}[${index}]`, itemOffset, itemOffset);
      if (located !== undefined) items.push(located);
    });
    return items;
  }

  /**
   * The scalar at `at` converted by `convert`, which returns undefined for values it does not
   * accept; then reports `expected <expected>, got <value>`.
   */
  value<T>(
    at: Located,
    expected: string,
    convert: (value: unknown) => T | undefined,
    { secret = false }: { secret?: boolean } = {},
  ): T | undefined {
    const converted = isScalar(at.node) && at.node.value !== null ? convert(at.node.value) : undefined;
    if (converted === undefined) {
      // A secret that is wrong is still a secret: name its kind, never its text.
      const seen = secret ? describeKind(at.node) : describe(at.node);
      this.report(at, `expected ${expected}, got ${seen}`);
    }
    return converted;
  }

  /** Follows aliases; undefined (reported) for an alias to an unknown anchor. */
  private located(node: Node | null, path: string, fallbackOffset: number, keyOffset: number): Located | undefined {
    const offset = nodeOffset(node, fallbackOffset);
    if (!isAlias(node)) return { node, path, offset, keyOffset };
    const target = node.resolve(this.doc);
    if (target === undefined) {
      this.report({ offset, path }, `alias *${node.source} refers to no anchor`);
      return undefined;
    }
    return { node: target, path, offset: nodeOffset(target, offset), keyOffset };
  }
}

function nodeOffset(node: unknown, fallback: number): number {
  return node !== null && typeof node === 'object' && 'range' in node && Array.isArray(node.range)
    ? (node.range[0] as number)
    : fallback;
}

function childPath(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

function unknownKey(key: string, shape: MappingShape): string {
  const quoted = JSON.stringify(key);
  const hint = shape.misplaced?.[key];
  if (hint !== undefined) return `unknown key ${quoted}; ${hint}`;
  const suggestion = closestKey(key, shape.keys);
  if (suggestion !== undefined) return `unknown key ${quoted}; did you mean "${suggestion}"?`;
  return `unknown key ${quoted}; expected one of: ${shape.keys.join(', ')}`;
}

/** How a value appears in an error message: strings quoted (and cut when long), collections named. */
export function describe(node: unknown): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  const value = isScalar(node) ? node.value : node;
  if (value === null || value === undefined) return 'an empty value';
  if (typeof value === 'string') {
    return value.length > 60 ? `${JSON.stringify(value.slice(0, 60))}… (${value.length} characters)` : JSON.stringify(value);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return 'a value of another type';
}

function describeKind(node: Node | null): string {
  if (!isScalar(node) || node.value === null || node.value === undefined) return describe(node);
  return typeof node.value === 'string' ? `a string of ${node.value.length} characters` : `a ${typeof node.value}`;
}
