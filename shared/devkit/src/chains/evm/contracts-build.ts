/**
 * Compiles the Solidity sources beside this file with the solc-js pinned in package.json and
 * writes one artifact per source (`<Source>.json`: abi + creation bytecode per contract).
 * Artifacts are committed so that nothing compiles at run time; `artifacts.spec.ts` recompiles
 * and compares, which catches a source edited without rebuilding.
 *
 *   npx tsx shared/devkit/src/chains/evm/contracts-build.ts
 *
 * Sources and artifacts live in @cpg/chains (the artifacts ship; solc is a devkit dependency).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ContractArtifact } from '@cpg/chains/evm/contracts';

export type { ContractArtifact };

/** The directory holding the .sol sources and their committed .json artifacts. */
const CONTRACTS_DIR = path.join(__dirname, '..', '..', '..', '..', 'chains', 'src', 'evm', 'contracts');

export const CONTRACT_SOURCES = ['BatchTransfer.sol', 'DevUSDT.sol', 'EvmTestKit.sol'] as const;

export interface SourceArtifact {
  source: string;
  compiler: string;
  settings: typeof SETTINGS;
  contracts: Record<string, ContractArtifact>;
}

// Paris (no PUSH0) so the same bytecode deploys on every EVM chain in the catalogue, including
// ones that lag behind mainnet hard forks.
const SETTINGS = { optimizer: { enabled: true, runs: 200 }, evmVersion: 'paris' } as const;

interface SolcOutput {
  errors?: { severity: string; formattedMessage: string }[];
  contracts: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
}

/** Compiles one source (by file name in this directory) and returns its artifact; throws on any error. */
export function compileSource(file: (typeof CONTRACT_SOURCES)[number]): SourceArtifact {
  // Loaded lazily: solc is a 9 MB emscripten module only the build and its spec need.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solc = require('solc') as { compile(input: string): string; version(): string };
  const content = readFileSync(path.join(CONTRACTS_DIR, file), 'utf8');
  const input = {
    language: 'Solidity',
    // The key is part of the metadata hash embedded in the bytecode: keep it the bare file name
    // so the output does not depend on where the checkout lives.
    sources: { [file]: { content } },
    settings: { ...SETTINGS, outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input))) as SolcOutput;
  const errors = (out.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length) throw new Error(`solc: ${file}\n${errors.map((e) => e.formattedMessage).join('\n')}`);
  const contracts: Record<string, ContractArtifact> = {};
  for (const [name, c] of Object.entries(out.contracts[file] ?? {})) {
    contracts[name] = { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` };
  }
  return { source: file, compiler: solc.version(), settings: SETTINGS, contracts };
}

export function artifactPath(file: string): string {
  return path.join(CONTRACTS_DIR, file.replace(/\.sol$/, '.json'));
}

/**
 * JSON as the repo's prettier would write it (the artifacts are checked by `prettier --check`);
 * plain JSON when prettier is not installed, e.g. in a production image.
 */
async function formatJson(file: string, value: unknown): Promise<string> {
  const text = JSON.stringify(value, null, 2) + '\n';
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const prettier = require('prettier') as { format(text: string, opts: object): Promise<string>; resolveConfig(file: string): Promise<object | null> };
    return await prettier.format(text, { ...((await prettier.resolveConfig(file)) ?? {}), filepath: file });
  } catch {
    return text;
  }
}

async function main(): Promise<void> {
  for (const file of CONTRACT_SOURCES) {
    const artifact = compileSource(file);
    const out = artifactPath(file);
    writeFileSync(out, await formatJson(out, artifact));
    console.log(`${file}: ${Object.keys(artifact.contracts).join(', ')} -> ${path.basename(out)}`);
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
