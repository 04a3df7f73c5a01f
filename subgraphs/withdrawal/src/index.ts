import { loadConfigOrExit, subgraphServerConfig } from '@cpg/core/config';
import { runUntilSignal } from '@cpg/core/http';
import { createLogger } from '@cpg/core/logger';
import { startWithdrawalSubgraph } from './server';

const config = loadConfigOrExit(subgraphServerConfig);
const log = createLogger('withdrawal', config.LOG_LEVEL);
runUntilSignal(() => startWithdrawalSubgraph(config, log), log);
