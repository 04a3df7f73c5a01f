import { loadConfigOrExit } from '@cpg/core/config';
import { runUntilSignal } from '@cpg/core/http';
import { createLogger } from '@cpg/core/logger';
import { batchTransferVariables, signerConfig } from './config';
import { startSignerWorker } from './worker';

const config = { ...loadConfigOrExit(signerConfig), batchTransferContracts: batchTransferVariables(process.env) };
const log = createLogger('signer', config.LOG_LEVEL);
runUntilSignal(() => startSignerWorker(config, log), log);
