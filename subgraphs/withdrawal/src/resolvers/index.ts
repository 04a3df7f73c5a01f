import type { Resolvers } from '../generated/resolvers-types';
import { withdrawal } from './Query/withdrawal';
import { withdrawals } from './Query/withdrawals';
import { estimateWithdrawalFee } from './Query/estimateWithdrawalFee';
import { withdrawalLimits } from './Query/withdrawalLimits';
import { requestWithdrawal } from './Mutation/requestWithdrawal';
import { cancelWithdrawal } from './Mutation/cancelWithdrawal';
import { approveWithdrawal } from './Mutation/approveWithdrawal';
import { rejectWithdrawal } from './Mutation/rejectWithdrawal';
import { refundPayment } from './Mutation/refundPayment';
import { setWithdrawalLimit } from './Mutation/setWithdrawalLimit';
import { Withdrawal } from './Withdrawal';
import { WithdrawalBatch } from './WithdrawalBatch';
import { WithdrawalLimit } from './WithdrawalLimit';

export const resolvers: Resolvers = {
  Query: { withdrawal, withdrawals, estimateWithdrawalFee, withdrawalLimits },
  Mutation: { requestWithdrawal, cancelWithdrawal, approveWithdrawal, rejectWithdrawal, refundPayment, setWithdrawalLimit },
  // Subscription fields are served by the gateway itself (NATS -> graphql-ws), not here.
  Withdrawal,
  WithdrawalBatch,
  WithdrawalLimit,
};
