import type { ContractArtifact } from './build';
import batchTransfer from './BatchTransfer.json';
import devUsdt from './DevUSDT.json';
import testKit from './EvmTestKit.json';

/** Compiled contracts (committed artifacts; `build.ts` regenerates them, a spec checks they match). */
export const BATCH_TRANSFER = batchTransfer.contracts.BatchTransfer as ContractArtifact;
export const DEV_USDT = devUsdt.contracts.DevUSDT as ContractArtifact;
/** Deployed by the EVM tests only. */
export const TEST_FORWARDER = testKit.contracts.Forwarder as ContractArtifact;
export const TEST_REVERTER = testKit.contracts.Reverter as ContractArtifact;

export type { ContractArtifact };
