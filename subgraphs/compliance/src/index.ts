import { loadConfigOrExit, subgraphServerConfig } from '@cpg/shared/config';
import { runUntilSignal } from '@cpg/shared/http';
import { createLogger } from '@cpg/shared/logger';
import { startComplianceSubgraph } from './server';

const config = loadConfigOrExit(subgraphServerConfig);
const log = createLogger('compliance', config.LOG_LEVEL);
runUntilSignal(() => startComplianceSubgraph(config, log), log);
