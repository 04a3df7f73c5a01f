import { parseDepositKey } from './deposit-ledger';

describe('parseDepositKey', () => {
  it('reads network, hash, index and the generation of a re-inclusion', () => {
    expect(parseDepositKey('dev-evm:0xabc:3')).toEqual({ network: 'dev-evm', txHash: '0xabc', index: 3, generation: 0 });
    expect(parseDepositKey('dev-ltc:ff00:1#2')).toEqual({ network: 'dev-ltc', txHash: 'ff00', index: 1, generation: 2 });
  });
  it('refuses anything else as a poison message', () => {
    for (const bad of ['', 'dev-evm:0xabc', 'dev-evm:0xabc:-1', 'Dev:0x:1', 'dev-evm:0xabc:1#x']) expect(() => parseDepositKey(bad)).toThrow(/bad deposit key/);
  });
});
