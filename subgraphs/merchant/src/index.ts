import { loadConfigOrExit, subgraphServerConfig } from '@cpg/core/config';
import { runUntilSignal } from '@cpg/core/http';
import { createLogger } from '@cpg/core/logger';
import { startMerchantSubgraph } from './server';

const config = loadConfigOrExit(subgraphServerConfig);
const log = createLogger('merchant', config.LOG_LEVEL);
runUntilSignal(() => startMerchantSubgraph(config, log), log);
