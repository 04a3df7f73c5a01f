import { loadConfigOrExit, subgraphServerConfig } from '@cpg/shared/config';
import { runUntilSignal } from '@cpg/shared/http';
import { createLogger } from '@cpg/shared/logger';
import { startWithdrawalSubgraph } from './server';

const config = loadConfigOrExit(subgraphServerConfig);
const log = createLogger('withdrawal', config.LOG_LEVEL);
runUntilSignal(() => startWithdrawalSubgraph(config, log), log);
