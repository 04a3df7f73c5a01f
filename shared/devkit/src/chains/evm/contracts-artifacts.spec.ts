import { readFileSync } from 'node:fs';
import { artifactPath, compileSource, CONTRACT_SOURCES, type SourceArtifact } from './contracts-build';

// solc-js compiles these three small sources in well under a second each here, so the check
// runs with the other specs instead of as a separate script.
describe('committed contract artifacts', () => {
  it.each(CONTRACT_SOURCES)('%s compiles to the committed bytecode and ABI', (file) => {
    const committed = JSON.parse(readFileSync(artifactPath(file), 'utf8')) as SourceArtifact;
    const fresh = compileSource(file);
    expect(fresh.compiler).toBe(committed.compiler);
    expect(Object.keys(fresh.contracts).sort()).toEqual(Object.keys(committed.contracts).sort());
    for (const [name, artifact] of Object.entries(fresh.contracts)) {
      expect(artifact.bytecode).toBe(committed.contracts[name]!.bytecode);
      expect(artifact.abi).toEqual(committed.contracts[name]!.abi);
    }
  });
});
