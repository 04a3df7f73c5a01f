import { loadConfigOrExit, subgraphServerConfig } from '@cpg/shared/config';
import { runUntilSignal } from '@cpg/shared/http';
import { createLogger } from '@cpg/shared/logger';
import { startMerchantSubgraph } from './server';

const config = loadConfigOrExit(subgraphServerConfig);
const log = createLogger('merchant', config.LOG_LEVEL);
runUntilSignal(() => startMerchantSubgraph(config, log), log);
