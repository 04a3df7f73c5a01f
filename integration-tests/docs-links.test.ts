import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { Kind, LoneAnonymousOperationRule, NoUndefinedVariablesRule, buildSchema, parse, specifiedRules, validate } from 'graphql';

/**
 * Docs check (issue 16): every relative link in every Markdown file of the repository resolves to
 * a file inside it, and a `#anchor` names a heading of the target. Paths written as code that start
 * with ./ or ../ must at least stay inside the repository (readers follow them like links; some name
 * what a command makes, such as ./secrets/, so they need not exist in a checkout). And every
 * `graphql` code block names only what the API schema has.
 */

const ROOT = path.resolve(__dirname, '..');
const SKIP_DIRS = new Set(['node_modules', '.git', '.data', 'dist', 'coverage', 'test-results', 'secrets']);

function markdownFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) markdownFiles(path.join(dir, entry.name), out);
    } else if (entry.isFile() && entry.name.toLowerCase().endsWith('.md')) {
      out.push(path.join(dir, entry.name));
    }
  }
  return out;
}

/** GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function headingSlugs(markdown: string): Set<string> {
  const slugs = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutFences(markdown).split('\n')) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const text = m[1]!
      .replace(/`([^`]*)`/g, '$1')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .trim();
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    slugs.add(n === 0 ? base : `${base}-${n}`);
  }
  return slugs;
}

/** Fenced code blocks blanked out (line count kept), so their contents are never read as links. */
function withoutFences(markdown: string): string {
  let fence: string | null = null;
  return markdown
    .split('\n')
    .map((line) => {
      const m = /^\s*(`{3,}|~{3,})/.exec(line);
      if (m) {
        if (fence === null) fence = m[1]![0]!;
        else if (m[1]![0] === fence) fence = null;
        return '';
      }
      return fence === null ? line : '';
    })
    .join('\n');
}

interface Link {
  file: string;
  line: number;
  target: string;
  kind: 'link' | 'code';
}

export function linksOf(file: string, markdown: string): Link[] {
  const out: Link[] = [];
  withoutFences(markdown)
    .split('\n')
    .forEach((text, i) => {
      const line = i + 1;
      // Code spans first: a path in code is checked only when it is written as a relative path.
      for (const m of text.matchAll(/`([^`\n]+)`/g)) {
        const code = m[1]!.trim();
        if (/^\.\.?\/[^\s]*$/.test(code)) out.push({ file, line, target: code, kind: 'code' });
      }
      const prose = text.replace(/`[^`\n]*`/g, '');
      for (const m of prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push({ file, line, target: m[1]!, kind: 'link' });
      const def = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$/.exec(prose);
      if (def) out.push({ file, line, target: def[1]!, kind: 'link' });
    });
  return out;
}

/** Why a link does not resolve, or null when it does (external links are not followed). */
export function problemOf(link: Link): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(link.target) || link.target.startsWith('//')) return null;
  const [rawPath, anchor] = link.target.split('#', 2) as [string, string | undefined];
  const pathPart = decodeURIComponent(rawPath.split('?')[0]!);
  const resolved = pathPart === '' ? link.file : path.resolve(path.dirname(link.file), pathPart);
  const rel = path.relative(ROOT, resolved);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return 'points outside the repository';
  if (link.kind === 'code') return null;
  if (!existsSync(resolved)) return 'no such file';
  if (anchor && statSync(resolved).isFile() && resolved.toLowerCase().endsWith('.md')) {
    if (!headingSlugs(readFileSync(resolved, 'utf8')).has(anchor.toLowerCase())) return `no heading #${anchor}`;
  }
  return null;
}

describe('Markdown links', () => {
  const files = markdownFiles(ROOT);

  it('finds the repository documentation', () => {
    const names = files.map((f) => path.relative(ROOT, f));
    expect(names).toEqual(expect.arrayContaining(['README.md', 'SECURITY.md', 'docs/limits.md', 'widget/README.md']));
  });

  it('every relative link resolves to a file inside the repository (and its #anchor to a heading)', () => {
    const broken = files
      .flatMap((f) => linksOf(f, readFileSync(f, 'utf8')))
      .map((l) => ({ l, problem: problemOf(l) }))
      .filter((x) => x.problem !== null)
      .map(({ l, problem }) => `${path.relative(ROOT, l.file)}:${l.line}: ${l.target}: ${problem}`);
    expect(broken).toEqual([]);
  });

  it('the checker itself: catches a path outside the repository, a missing file and a missing anchor', () => {
    const readme = path.join(ROOT, 'README.md');
    const check = (target: string) => problemOf({ file: readme, line: 1, target, kind: 'link' });
    expect(check('../shared/api/contract.graphql')).toBe('points outside the repository');
    expect(check('docs/no-such-file.md')).toBe('no such file');
    expect(check('docs/limits.md#no-such-heading')).toBe('no heading #no-such-heading');
    expect(check('docs/limits.md')).toBeNull();
    expect(check('https://example.com/x')).toBeNull();
    expect(problemOf({ file: readme, line: 1, target: './secrets/', kind: 'code' })).toBeNull();
    expect(problemOf({ file: readme, line: 1, target: '../outside/', kind: 'code' })).toBe('points outside the repository');
    expect(linksOf(readme, 'see `../x/y.ts` and [a](b.md#c) and\n```\n[not](a-link.md)\n```\n[ref]: ./z.md').map((l) => l.target)).toEqual([
      '../x/y.ts',
      'b.md#c',
      './z.md',
    ]);
    expect([...headingSlugs('## First withdrawal (dev-evm)\n## Custody & fees\n## Custody & fees')]).toEqual([
      'first-withdrawal-dev-evm',
      'custody--fees',
      'custody--fees-1',
    ]);
  });
});

describe('GraphQL in the docs', () => {
  const schema = buildSchema(readFileSync(path.join(ROOT, 'gateway/supergraph.graphql'), 'utf8'), { assumeValidSDL: true });
  // Blocks list several operations side by side with placeholders ($cursor) the reader fills in.
  const rules = specifiedRules.filter((r) => r !== NoUndefinedVariablesRule && r !== LoneAnonymousOperationRule);

  it('every operation in a graphql code block validates against gateway/supergraph.graphql', () => {
    const problems: string[] = [];
    let operations = 0;
    for (const file of markdownFiles(ROOT)) {
      const text = readFileSync(file, 'utf8');
      for (const block of text.matchAll(/^\s*```graphql\n([\s\S]*?)^\s*```/gm)) {
        const where = `${path.relative(ROOT, file)}:${text.slice(0, block.index).split('\n').length}`;
        let doc;
        try {
          doc = parse(block[1]!);
        } catch (err) {
          problems.push(`${where}: ${(err as Error).message}`);
          continue;
        }
        for (const def of doc.definitions) {
          operations += 1;
          for (const e of validate(schema, { kind: Kind.DOCUMENT, definitions: [def] }, rules)) problems.push(`${where}: ${e.message}`);
        }
      }
    }
    expect(problems).toEqual([]);
    expect(operations).toBeGreaterThan(30);
  });
});
