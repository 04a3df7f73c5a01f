import { type StepClaim, type StoredStep, stepMismatch } from './verify-step';

const M = '11111111-1111-4111-8111-111111111111';
const transfer: StoredStep = {
  merchantId: M,
  networkId: 'dev-evm',
  status: 'PLANNED',
  coinId: 'dev-evm:USDT',
  action: 'token',
  from: [{ addressId: 'a1', address: '0xUser' }],
  inputs: null,
  to: '0xHot',
  amount: 30n,
  sweepAll: false,
};
const tclaim: StepClaim = {
  kind: 'transfer',
  merchantId: M,
  networkId: 'dev-evm',
  coinId: 'dev-evm:USDT',
  from: '0xUser',
  to: '0xHot',
  amount: '30',
  sweepAll: false,
};

const consolidation: StoredStep = {
  merchantId: M,
  networkId: 'dev-ltc',
  status: 'PLANNED',
  coinId: 'dev-ltc:LTC',
  action: 'consolidate',
  from: [
    { addressId: 'u1', address: 'rltc1one' },
    { addressId: 'u2', address: 'rltc1two' },
  ],
  inputs: [
    { txid: 'aa', vout: 0, addressId: 'u1' },
    { txid: 'bb', vout: 1, addressId: 'u2' },
  ],
  to: 'rltc1hot',
  amount: 1000n,
  sweepAll: false,
};
const cclaim: StepClaim = {
  kind: 'consolidation',
  merchantId: M,
  networkId: 'dev-ltc',
  coinId: 'dev-ltc:LTC',
  inputs: [
    { txid: 'bb', vout: 1, from: 'rltc1two' },
    { txid: 'aa', vout: 0, from: 'rltc1one' },
  ],
  outputs: [{ to: 'rltc1hot', amount: '1000' }],
};

describe('stepMismatch: transfers', () => {
  it('accepts exactly the stored, PLANNED step', () => {
    expect(stepMismatch(transfer, tclaim)).toBeNull();
  });

  it('refuses an unknown step, another merchant or network, and a step not PLANNED', () => {
    expect(stepMismatch(null, tclaim)).toBe('no such step');
    expect(stepMismatch({ ...transfer, merchantId: 'x' }, tclaim)).toMatch(/another merchant/);
    expect(stepMismatch(transfer, { ...tclaim, networkId: 'ethereum' })).toMatch(/on dev-evm, not ethereum/);
    for (const status of ['SIGNED', 'BROADCAST', 'CONFIRMED', 'FAILED', 'SKIPPED'])
      expect(stepMismatch({ ...transfer, status }, tclaim)).toMatch(/not waiting/);
  });

  it('refuses any other destination, source, coin, amount or sweepAll', () => {
    expect(stepMismatch(transfer, { ...tclaim, to: '0xThief' })).toMatch(/pays another address/);
    expect(stepMismatch(transfer, { ...tclaim, from: '0xOther' })).toMatch(/another address/);
    expect(stepMismatch(transfer, { ...tclaim, coinId: 'dev-evm:ETH' })).toMatch(/moves dev-evm:USDT/);
    expect(stepMismatch(transfer, { ...tclaim, amount: '31' })).toMatch(/another amount/);
    expect(stepMismatch(transfer, { ...tclaim, sweepAll: true })).toMatch(/sweepAll/);
    expect(stepMismatch(consolidation, { ...tclaim, networkId: 'dev-ltc', coinId: 'dev-ltc:LTC' })).toMatch(/consolidation, not a transfer/);
  });
});

describe('stepMismatch: consolidations', () => {
  it('accepts the stored outputs in any order, each from its own address', () => {
    expect(stepMismatch(consolidation, cclaim)).toBeNull();
  });

  it('refuses other outputs, owners, destinations or amounts', () => {
    if (cclaim.kind !== 'consolidation') throw new Error('shape');
    expect(stepMismatch(consolidation, { ...cclaim, inputs: [...cclaim.inputs, { txid: 'cc', vout: 0, from: 'rltc1one' }] })).toMatch(/not one of the step's/);
    expect(stepMismatch(consolidation, { ...cclaim, inputs: cclaim.inputs.slice(1) })).toMatch(/spends 2 outputs, the request 1/);
    expect(stepMismatch(consolidation, { ...cclaim, inputs: [cclaim.inputs[0]!, cclaim.inputs[0]!] })).toMatch(/spent twice/);
    expect(stepMismatch(consolidation, { ...cclaim, inputs: cclaim.inputs.map((i) => ({ ...i, from: 'rltc1one' })) })).toMatch(/belongs to another address/);
    expect(stepMismatch(consolidation, { ...cclaim, outputs: [{ to: 'rltc1thief', amount: '1000' }] })).toMatch(/pays another address/);
    expect(stepMismatch(consolidation, { ...cclaim, outputs: [{ to: 'rltc1hot', amount: '999' }] })).toMatch(/another amount/);
    expect(stepMismatch(consolidation, { ...cclaim, outputs: [...cclaim.outputs, { to: 'rltc1thief', amount: '1' }] })).toMatch(/pays another address/);
    expect(stepMismatch(transfer, cclaim)).toMatch(/on dev-evm, not dev-ltc/);
    expect(stepMismatch({ ...transfer, networkId: 'dev-ltc', coinId: 'dev-ltc:LTC' }, cclaim)).toMatch(/transfer, not a consolidation/);
  });
});
