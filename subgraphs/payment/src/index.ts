import { loadConfigOrExit, subgraphServerConfig } from '@cpg/shared/config';
import { runUntilSignal } from '@cpg/shared/http';
import { createLogger } from '@cpg/shared/logger';
import { startPaymentSubgraph } from './server';

const config = loadConfigOrExit(subgraphServerConfig);
const log = createLogger('payment', config.LOG_LEVEL);
runUntilSignal(() => startPaymentSubgraph(config, log), log);
