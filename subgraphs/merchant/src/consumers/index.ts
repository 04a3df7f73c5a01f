export { startDepositLedgerConsumer } from './deposit-ledger';
export { startWithdrawalLedgerConsumer } from './withdrawal-ledger';
export { startCollectionFeeLedgerConsumer } from './collection-fee-ledger';
export { startColdForwardLedgerConsumer } from './cold-forward-ledger';
