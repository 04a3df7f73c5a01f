import { loadConfigOrExit, subgraphServerConfig } from '@cpg/core/config';
import { runUntilSignal } from '@cpg/core/http';
import { createLogger } from '@cpg/core/logger';
import { startPaymentSubgraph } from './server';

const config = loadConfigOrExit(subgraphServerConfig);
const log = createLogger('payment', config.LOG_LEVEL);
runUntilSignal(() => startPaymentSubgraph(config, log), log);
