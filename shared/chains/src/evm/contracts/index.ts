import batchTransfer from './BatchTransfer.json';
import devUsdt from './DevUSDT.json';
import testKit from './EvmTestKit.json';

export interface ContractArtifact {
  abi: unknown[];
  /** 0x-prefixed creation bytecode. */
  bytecode: `0x${string}`;
}

/** Compiled contracts (committed artifacts; `@cpg/devkit/chains/evm/contracts-build` regenerates them, a spec checks they match). */
export const BATCH_TRANSFER = batchTransfer.contracts.BatchTransfer as ContractArtifact;
export const DEV_USDT = devUsdt.contracts.DevUSDT as ContractArtifact;
/** Deployed by the EVM tests only. */
export const TEST_FORWARDER = testKit.contracts.Forwarder as ContractArtifact;
export const TEST_REVERTER = testKit.contracts.Reverter as ContractArtifact;
