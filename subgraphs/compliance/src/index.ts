import { loadConfigOrExit, subgraphServerConfig } from '@cpg/core/config';
import { runUntilSignal } from '@cpg/core/http';
import { createLogger } from '@cpg/core/logger';
import { startComplianceSubgraph } from './server';

const config = loadConfigOrExit(subgraphServerConfig);
const log = createLogger('compliance', config.LOG_LEVEL);
runUntilSignal(() => startComplianceSubgraph(config, log), log);
