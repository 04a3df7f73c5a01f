import type { Resolvers } from '../generated/resolvers-types';
import { payment } from './Query/payment';
import { payments } from './Query/payments';
import { checkout } from './Query/checkout';
import { createPayment } from './Mutation/createPayment';
import { cancelPayment } from './Mutation/cancelPayment';
import { Payment } from './Payment';
import { Deposit } from './Deposit';

export const resolvers: Resolvers = {
  Query: { payment, payments, checkout },
  Mutation: { createPayment, cancelPayment },
  // Subscription fields are served by the gateway itself (NATS -> graphql-ws), not here.
  Payment,
  Deposit,
};
