import type { Resolvers } from '../generated/resolvers-types';
import { alerts } from './Query/alerts';
import { screenAddress } from './Query/screenAddress';
import { greyList } from './Query/greyList';
import { complianceReport } from './Query/complianceReport';
import { addToGreyList } from './Mutation/addToGreyList';
import { removeFromGreyList } from './Mutation/removeFromGreyList';
import { resolveAlert } from './Mutation/resolveAlert';
import { Deposit } from './Deposit';
import { Withdrawal } from './Withdrawal';

export const resolvers: Resolvers = {
  Query: { alerts, screenAddress, greyList, complianceReport },
  Mutation: { addToGreyList, removeFromGreyList, resolveAlert },
  Deposit,
  Withdrawal,
};
