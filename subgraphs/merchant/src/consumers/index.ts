export { startDepositLedgerConsumer } from './deposit-ledger';
