import { gatewayConfig, loadConfigOrExit } from '@cpg/shared/config';
import { runUntilSignal } from '@cpg/shared/http';
import { createLogger } from '@cpg/shared/logger';
import { startGateway } from './server';

const config = loadConfigOrExit(gatewayConfig);
const log = createLogger('gateway', config.LOG_LEVEL);
runUntilSignal(() => startGateway(config, log), log);
