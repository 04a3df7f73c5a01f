/**
 * Fails when a committed generated file no longer matches what codegen.yml produces.
 *
 *   npx tsx scripts/codegen-check.ts
 *
 * Regenerates every target of codegen.yml into a temporary directory (same relative paths, same
 * plugins, config and hooks) and compares each result byte for byte with the committed file. It
 * never writes into the repository, and it does not rely on git, so it works on a clean CI clone.
 * Exit 0: all up to date. Exit 1: stale or missing files, named, with the fix. Exit 2: codegen
 * itself failed (bad config or schema).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generate, loadCodegenConfig } from '@graphql-codegen/cli';

const root = path.resolve(__dirname, '..');
const configFile = path.join(root, 'codegen.yml');

async function main(): Promise<number> {
  const { config } = await loadCodegenConfig({ configFilePath: configFile });
  const targets = Object.keys(config.generates ?? {});
  if (targets.length === 0) {
    process.stderr.write(`codegen-check: ${path.relative(root, configFile)} has no generate targets\n`);
    return 2;
  }
  for (const target of targets) {
    // Directory targets (presets) and absolute paths cannot be mirrored into the temp dir.
    if (path.isAbsolute(target) || target.endsWith('/')) {
      process.stderr.write(`codegen-check: unsupported target "${target}" (use a repo-relative file path)\n`);
      return 2;
    }
  }

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cpg-codegen-check-'));
  try {
    const generates = Object.fromEntries(targets.map((target) => [path.join(tmp, target), config.generates[target]]));
    try {
      // Schemas and documents stay relative to the repo root (cwd); only the outputs move.
      await generate({ ...config, generates, cwd: root, watch: false, silent: true, errorsOnly: true }, true);
    } catch (err) {
      process.stderr.write(`codegen-check: codegen failed: ${err instanceof Error ? err.message : String(err)}\n`);
      return 2;
    }

    const stale: string[] = [];
    for (const target of targets) {
      const committedPath = path.join(root, target);
      const fresh = fs.readFileSync(path.join(tmp, target));
      if (!fs.existsSync(committedPath)) {
        stale.push(`${target} (missing)`);
      } else if (!fs.readFileSync(committedPath).equals(fresh)) {
        stale.push(target);
      }
    }
    if (stale.length > 0) {
      process.stderr.write(
        `Generated GraphQL types are out of date with their schemas:\n${stale.map((f) => `  - ${f}`).join('\n')}\n` +
          'Fix: run `npm run codegen` and commit the result.\n',
      );
      return 1;
    }
    process.stdout.write(`codegen-check: ${targets.length} generated file(s) up to date\n`);
    return 0;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`codegen-check: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
