// Composes the five subgraph schemas (subgraphs/*/schema.graphql) into the federation supergraph
// and derives the public API schema from it. Used by the gateway at start-up, by
// `npm run compose` (gateway/src/compose-cli.ts) and by CI (gateway/test/compose.test.ts).
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { composeServices } from '@apollo/composition';
import { Supergraph } from '@apollo/federation-internals';
import { parse, printSchema } from 'graphql';

export interface SubgraphDef {
  name: string;
  url: string;
  typeDefs: string;
}

/** Subgraph names in composition order; each has `subgraphs/<name>/schema.graphql`. */
export const SUBGRAPH_NAMES = ['merchant', 'address', 'payment', 'withdrawal', 'compliance'] as const;

/** Repo root: gateway/src -> ../.. */
const REPO_ROOT = resolve(__dirname, '..', '..');

/**
 * Reads the subgraph schemas from `<root>/subgraphs/<name>/schema.graphql`, in the order of
 * SUBGRAPH_NAMES. `urls` maps each subgraph name to its routing url; a missing url is an error.
 */
export function loadSubgraphDefs(urls: Record<string, string>, root = REPO_ROOT): SubgraphDef[] {
  return SUBGRAPH_NAMES.map((name) => {
    const url = urls[name];
    if (!url) throw new Error(`compose: no url given for subgraph "${name}"`);
    const file = join(root, 'subgraphs', name, 'schema.graphql');
    let typeDefs: string;
    try {
      typeDefs = readFileSync(file, 'utf8');
    } catch (e) {
      throw new Error(`compose: cannot read schema of subgraph "${name}" at ${file}: ${(e as Error).message}`);
    }
    return { name, url, typeDefs };
  });
}

/**
 * Composes the subgraphs with Apollo Federation 2 and returns the supergraph SDL. Any composition
 * error (or a subgraph SDL that does not parse) throws a single Error naming every problem.
 */
export function composeSupergraph(defs: SubgraphDef[]): string {
  const services = defs.map((d) => {
    try {
      return { name: d.name, url: d.url, typeDefs: parse(d.typeDefs) };
    } catch (e) {
      throw new Error(`Supergraph composition failed:\n  - [${d.name}] schema does not parse: ${(e as Error).message}`);
    }
  });
  const result = composeServices(services);
  if (result.errors && result.errors.length > 0) {
    const lines = result.errors.map((err) => {
      const code = (err.extensions?.code as string | undefined) ?? 'ERROR';
      return `  - [${code}] ${err.message}`;
    });
    throw new Error(`Supergraph composition failed with ${result.errors.length} error(s):\n${lines.join('\n')}`);
  }
  if (!result.supergraphSdl) throw new Error('Supergraph composition failed: no supergraph SDL produced');
  return result.supergraphSdl;
}

/** The public API schema (what clients see through the gateway) as SDL, without federation internals. */
export function apiSchemaSdl(supergraphSdl: string): string {
  const apiSchema = Supergraph.build(supergraphSdl).apiSchema();
  return printSchema(apiSchema.toGraphQLJSSchema());
}
