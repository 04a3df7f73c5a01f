import { gatewayConfig, loadConfigOrExit } from '@cpg/core/config';
import { runUntilSignal } from '@cpg/core/http';
import { createLogger } from '@cpg/core/logger';
import { startGateway } from './server';

const config = loadConfigOrExit(gatewayConfig);
const log = createLogger('gateway', config.LOG_LEVEL);
runUntilSignal(() => startGateway(config, log), log);
