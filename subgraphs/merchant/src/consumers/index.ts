export { startDepositLedgerConsumer } from './deposit-ledger';
export { startWithdrawalLedgerConsumer } from './withdrawal-ledger';
