import { loadConfigOrExit, subgraphServerConfig } from '@cpg/core/config';
import { runUntilSignal } from '@cpg/core/http';
import { createLogger } from '@cpg/core/logger';
import { startAddressSubgraph } from './server';
import { addressConfigModel } from './config';

const config = loadConfigOrExit(subgraphServerConfig);
const own = loadConfigOrExit(addressConfigModel);
const log = createLogger('address', config.LOG_LEVEL);
runUntilSignal(() => startAddressSubgraph(config, log, undefined, undefined, own), log);
