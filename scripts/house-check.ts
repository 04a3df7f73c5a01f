// House rules that lint cannot see (issue 17; docs/architecture.md, "House rules"):
//   - no source file over MAX_LINES lines outside tests, fixtures and generated code;
//   - no import cycle between source files (relative imports and @cpg/* workspace imports).
// `npx tsx scripts/house-check.ts` prints every breach and exits 1; .ci/run runs it, and
// integration-tests/house-rules.test.ts checks that it catches both kinds on a planted tree.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export const MAX_LINES = 400;

/** Directories holding code that ships or runs (tests inside them are skipped by isExempt). */
export const SOURCE_ROOTS = ['shared/core/src', 'shared/chains/src', 'shared/devkit/src', 'gateway/src', 'subgraphs', 'workers', 'widget/src', 'scripts'];

const EXEMPT = [/\.spec\.tsx?$/, /\.test\.tsx?$/, /\/test\//, /\/fixtures\//, /\/generated\//, /\/migrations\//, /\/node_modules\//, /\.d\.ts$/];

export function isExempt(file: string): boolean {
  return EXEMPT.some((re) => re.test(file.split(path.sep).join('/')));
}

function walk(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (/\.tsx?$/.test(e.name)) out.push(p);
  }
  return out;
}

export interface Breach {
  rule: 'file-size' | 'import-cycle';
  message: string;
}

/** Source files under `roots` (relative to `root`) that the rules apply to. */
export function sourceFiles(root: string, roots = SOURCE_ROOTS): string[] {
  return roots.flatMap((r) => walk(path.join(root, r))).filter((f) => !isExempt(path.relative(root, f)));
}

export function oversizeFiles(root: string, files: string[], max = MAX_LINES): Breach[] {
  const out: Breach[] = [];
  for (const f of files) {
    const lines = readFileSync(f, 'utf8').split('\n').length - 1;
    if (lines > max) out.push({ rule: 'file-size', message: `${path.relative(root, f)}: ${lines} lines (limit ${max}); split it along its seams` });
  }
  return out;
}

// ---- import graph ----

const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s+(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/g;

/**
 * Import specifiers of a file, type-only ones included: a type cycle does not break loading,
 * but it ties two modules into one unit just the same, which is what the rule is about.
 */
export function importsOf(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(IMPORT_RE)) out.push(m[1]!);
  return out;
}

interface PackageInfo {
  dir: string;
  exports: Record<string, string>;
}

/** Workspace packages by name, with their exports maps (the @cpg/* imports resolve through them). */
export function workspacePackages(root: string): Map<string, PackageInfo> {
  const out = new Map<string, PackageInfo>();
  const rootPkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { workspaces?: string[] };
  for (const pattern of rootPkg.workspaces ?? []) {
    const dirs = pattern.endsWith('/*')
      ? readdirSync(path.join(root, pattern.slice(0, -2)))
          .map((d) => path.join(root, pattern.slice(0, -2), d))
          .filter((d) => statSync(d).isDirectory())
      : [path.join(root, pattern)];
    for (const dir of dirs) {
      const file = path.join(dir, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name: string; exports?: Record<string, string>; main?: string };
      out.set(pkg.name, { dir, exports: pkg.exports ?? (pkg.main ? { '.': `./${pkg.main}` } : {}) });
    }
  }
  return out;
}

function withExtension(base: string): string | undefined {
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, path.join(base, 'index.ts'), path.join(base, 'index.tsx')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

/** The file an import names, or undefined for third-party modules and JSON. */
export function resolveImport(from: string, spec: string, packages: Map<string, PackageInfo>): string | undefined {
  if (spec.startsWith('.')) return withExtension(path.resolve(path.dirname(from), spec));
  const m = /^(@[^/]+\/[^/]+)(\/.*)?$/.exec(spec);
  if (!m) return undefined;
  const pkg = packages.get(m[1]!);
  if (!pkg) return undefined;
  const sub = `.${m[2] ?? ''}`;
  const exact = pkg.exports[sub];
  if (exact) return withExtension(path.join(pkg.dir, exact));
  for (const [key, target] of Object.entries(pkg.exports)) {
    const star = key.indexOf('*');
    if (star < 0 || !sub.startsWith(key.slice(0, star)) || !sub.endsWith(key.slice(star + 1))) continue;
    const middle = sub.slice(star, sub.length - (key.length - star - 1));
    return withExtension(path.join(pkg.dir, target.replace('*', middle)));
  }
  return undefined;
}

/** Every elementary cycle found by a depth-first search (each reported once, from its first file). */
export function importCycles(root: string, files: string[]): Breach[] {
  const packages = workspacePackages(root);
  const inScope = new Set(files);
  const edges = new Map<string, string[]>();
  for (const f of files) {
    const targets = importsOf(readFileSync(f, 'utf8'))
      .map((s) => resolveImport(f, s, packages))
      .filter((t): t is string => !!t && inScope.has(t));
    edges.set(f, [...new Set(targets)]);
  }
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const seen = new Set<string>();
  const out: Breach[] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    stack.push(f);
    for (const t of edges.get(f) ?? []) {
      if (state.get(t) === 'open') {
        const cycle = stack.slice(stack.indexOf(t)).map((x) => path.relative(root, x));
        const key = [...cycle].sort().join('|');
        if (!seen.has(key)) {
          seen.add(key);
          out.push({ rule: 'import-cycle', message: `import cycle: ${[...cycle, cycle[0]].join(' -> ')}` });
        }
      } else if (!state.has(t)) visit(t);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of files) if (!state.has(f)) visit(f);
  return out;
}

export function checkHouse(root: string, roots = SOURCE_ROOTS): Breach[] {
  const files = sourceFiles(root, roots);
  return [...oversizeFiles(root, files), ...importCycles(root, files)];
}

if (require.main === module) {
  const root = path.resolve(__dirname, '..');
  const breaches = checkHouse(root);
  for (const b of breaches) process.stderr.write(`house-check: ${b.message}\n`);
  const files = sourceFiles(root).length;
  if (breaches.length) {
    process.stderr.write(`house-check: ${breaches.length} breach(es) in ${files} source files\n`);
    process.exit(1);
  }
  process.stdout.write(`house-check: ${files} source files, none over ${MAX_LINES} lines, no import cycles\n`);
}
