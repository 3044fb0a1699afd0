import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/*
 * Code and docs cite our own documents by section ("docs/protocol.md" followed by a section sign
 * and a number). This keeps them in step: every cited section must exist as a heading of that
 * document, and a section sign in code must name its document on the same line, so a reader (and
 * this test) knows which document it points into.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CODE_DIRS = ['src', 'test', 'bench', '.ci'];
const TEXT_FILE = /\.(ts|js|mjs|md|sh|ya?ml|json)$|^run$/;
const SKIP_DIRS = new Set(['node_modules', 'dist', 'fixtures']);

/** The section sign, spelled as an escape so this file holds no citation of its own. */
const SIGN = '\u00a7';
const NUMBER = '\\d+(?:\\.\\d+)*';
/** A cited document and, after it on the same line, the sections until the next document. */
const DOCUMENT = /(docs\/)?([a-z][a-z-]*)\.md\b/g;
const SECTION = new RegExp(`${SIGN}(${NUMBER})`, 'g');
/** A range ("6.3 to 6.4", with or without a second sign): its end must exist too. */
const RANGE_END = new RegExp(`${SIGN}${NUMBER}–${SIGN}?(${NUMBER})`, 'g');
const HEADING = new RegExp(`^#{2,4} ${SIGN}(${NUMBER})\\s`, 'gm');
/** Section signs that belong to other documents (RFCs). */
const FOREIGN_SECTION = new RegExp(`RFC \\d+ ${SIGN}${NUMBER}`, 'g');

interface Citation {
  file: string;
  line: number;
  document: string;
  section: string;
}

function walk(dir: string, files: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) {
      if (!SKIP_DIRS.has(name)) walk(full, files);
    } else if (TEXT_FILE.test(name)) {
      files.push(full);
    }
  }
  return files;
}

function headingsOf(document: string): Set<string> {
  const text = readFileSync(path.join(ROOT, 'docs', document), 'utf8');
  return new Set([...text.matchAll(HEADING)].map((match) => match[1]!));
}

function sectionsIn(text: string): string[] {
  const sections = [...text.matchAll(SECTION)].map((match) => match[1]!);
  for (const range of text.matchAll(RANGE_END)) sections.push(range[1]!);
  return sections;
}

function scan(file: string, requireDocument: boolean): { citations: Citation[]; orphans: string[] } {
  const citations: Citation[] = [];
  const orphans: string[] = [];
  const relative = path.relative(ROOT, file);
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((raw, index) => {
      const text = raw.replace(FOREIGN_SECTION, '');
      const documents = [...text.matchAll(DOCUMENT)].filter((match) => match[1] !== undefined || !requireDocument);
      if (documents.length === 0) {
        if (requireDocument && text.includes(SIGN)) orphans.push(`${relative}:${index + 1}: ${raw.trim()}`);
        return;
      }
      if (requireDocument && text.slice(0, documents[0]!.index).includes(SIGN)) {
        orphans.push(`${relative}:${index + 1}: ${raw.trim()}`);
      }
      documents.forEach((match, i) => {
        const end = documents[i + 1]?.index ?? text.length;
        for (const section of sectionsIn(text.slice(match.index, end))) {
          citations.push({ file: relative, line: index + 1, document: `${match[2]!}.md`, section });
        }
      });
    });
  return { citations, orphans };
}

const OWN_DOCUMENTS = readdirSync(path.join(ROOT, 'docs')).filter((name) => name.endsWith('.md'));
const codeFiles = CODE_DIRS.flatMap((dir) => walk(path.join(ROOT, dir)));
const docFiles = [...OWN_DOCUMENTS.map((name) => path.join(ROOT, 'docs', name)), path.join(ROOT, 'README.md')];
const fromCode = codeFiles.map((file) => scan(file, true));
const fromDocs = docFiles.map((file) => scan(file, false));
const citations = [...fromCode, ...fromDocs].flatMap((result) => result.citations);

describe('section citations of our own documents', () => {
  it('finds citations to check (the scan itself works)', () => {
    expect(citations.filter((c) => c.document === 'protocol.md').length).toBeGreaterThan(50);
    expect(citations.filter((c) => c.document === 'forwarding.md').length).toBeGreaterThan(30);
  });

  it('cites only sections that exist as headings of the cited document', () => {
    const headings = new Map(OWN_DOCUMENTS.map((name) => [name, headingsOf(name)]));
    const missing = citations
      .filter((c) => headings.has(c.document) && !headings.get(c.document)!.has(c.section))
      .map((c) => `${c.file}:${c.line}: ${c.document} ${SIGN}${c.section}`);
    expect(missing).toEqual([]);
  });

  it('names the document of every section sign in code, on the same line', () => {
    expect(fromCode.flatMap((result) => result.orphans)).toEqual([]);
  });

  it('cites documents that exist in docs/', () => {
    const cited = new Set(fromCode.flatMap((result) => result.citations).map((c) => c.document));
    expect([...cited].filter((document) => !OWN_DOCUMENTS.includes(document))).toEqual([]);
  });
});
