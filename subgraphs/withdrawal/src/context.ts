import type { BaseContext } from '@cpg/shared/http';
import type { WithdrawalService } from './services/withdrawals';

export interface WithdrawalContext extends BaseContext {
  withdrawals: WithdrawalService;
}
