// Composition of subgraphs/*/schema.graphql: it must compose, cover the public API contract
// (shared/api/contract.graphql) with no gaps, match the committed gateway/supergraph.graphql, and
// fail loudly, naming the problem, when a subgraph breaks federation rules.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { apiSchemaSdl, composeSupergraph, loadSubgraphDefs, SubgraphDef } from '../src/compose';
import { generateSupergraphFile, OUTPUT_PATH, PLACEHOLDER_URLS } from '../src/compose-cli';

const REPO_ROOT = resolve(__dirname, '..', '..');
// The contract and its checker live beside the repository (../shared), not in it: a clone placed
// elsewhere has no contract to check against, so the check runs where the contract is.
const CONTRACT_CHECK = process.env.CONTRACT_CHECK ?? resolve(REPO_ROOT, '..', 'shared', 'tools', 'contract-check.mjs');
const withContract = existsSync(CONTRACT_CHECK) ? it : it.skip;

describe('supergraph composition', () => {
  let defs: SubgraphDef[];
  let supergraph: string;

  beforeAll(() => {
    defs = loadSubgraphDefs(PLACEHOLDER_URLS);
    supergraph = composeSupergraph(defs);
  });

  it('loads the five subgraphs in order and composes them', () => {
    expect(defs.map((d) => d.name)).toEqual(['merchant', 'address', 'payment', 'withdrawal', 'compliance']);
    expect(defs.map((d) => d.url)).toEqual([4001, 4002, 4003, 4004, 4005].map((p) => `http://127.0.0.1:${p}/graphql`));
    for (const d of defs) expect(d.typeDefs).toMatch(/^extend schema @link\(url: "https:\/\/specs\.apollo\.dev\/federation\/v2\.7"/);
    expect(supergraph).toContain('@join__graph');
    const api = apiSchemaSdl(supergraph);
    expect(api).toMatch(/type Subscription \{/);
    expect(api).not.toMatch(/join__|_entities|_service/);
  });

  withContract('covers the public API contract with 0 gaps (contract-check)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cpg-compose-'));
    try {
      const file = join(dir, 'api.graphql');
      writeFileSync(file, apiSchemaSdl(supergraph));
      const res = spawnSync(process.execPath, [CONTRACT_CHECK, '--sdl', file], { cwd: REPO_ROOT, encoding: 'utf8' });
      const output = `${res.stdout ?? ''}${res.stderr ?? ''}${res.error ? String(res.error) : ''}`;
      if (res.status !== 0) throw new Error(`contract-check exited ${res.status}:\n${output}`);
      expect(output).toMatch(/\b0 gaps\b/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('committed gateway/supergraph.graphql is up to date', () => {
    let committed = '';
    try {
      committed = readFileSync(OUTPUT_PATH, 'utf8');
    } catch {
      throw new Error(`${OUTPUT_PATH} is missing: run \`npm run compose\` and commit the result`);
    }
    if (committed !== generateSupergraphFile()) {
      throw new Error(`${OUTPUT_PATH} is stale (subgraph schemas changed): run \`npm run compose\` and commit the result`);
    }
  });

  it('throws one error naming every composition problem', () => {
    const rogue: SubgraphDef = {
      name: 'rogue',
      url: 'http://127.0.0.1:4999/graphql',
      typeDefs: `
        extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
        type Merchant @key(fields: "id") { id: ID! name: String! }
        type Query { me: Merchant! }
      `,
    };
    let message = '';
    try {
      composeSupergraph([...defs, rogue]);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/Supergraph composition failed with \d+ error\(s\)/);
    expect(message).toContain('INVALID_FIELD_SHARING');
    expect(message).toMatch(/"Query\.me"/);
    expect(message).toMatch(/"Merchant\.name"/);
    expect(message).toMatch(/"merchant"/);
    expect(message).toMatch(/"rogue"/);
  });

  it('throws on a subgraph schema that does not parse', () => {
    const broken = defs.map((d) => (d.name === 'payment' ? { ...d, typeDefs: d.typeDefs + '\ntype Oops {' } : d));
    expect(() => composeSupergraph(broken)).toThrow(/\[payment\] schema does not parse/);
  });
});
