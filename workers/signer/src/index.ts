import { loadConfigOrExit } from '@cpg/shared/config';
import { runUntilSignal } from '@cpg/shared/http';
import { createLogger } from '@cpg/shared/logger';
import { signerConfig } from './config';
import { startSignerWorker } from './worker';

const config = loadConfigOrExit(signerConfig);
const log = createLogger('signer', config.LOG_LEVEL);
runUntilSignal(() => startSignerWorker(config, log), log);
