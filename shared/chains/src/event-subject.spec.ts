import { chainEventProblem, networkOfChainSubject } from './event-subject';

describe('networkOfChainSubject', () => {
  it('reads the network token, whatever the namespace', () => {
    expect(networkOfChainSubject('cpg.evt.chain.dev-evm.transfer.confirmed.abc')).toBe('dev-evm');
    expect(networkOfChainSubject('t_1a2b.evt.chain.tron.transfer.seen.k-1')).toBe('tron');
    expect(networkOfChainSubject('a.b.evt.chain.bitcoin.transfer.reorged.x')).toBe('bitcoin');
  });

  it('is null for anything else', () => {
    expect(networkOfChainSubject('cpg.evt.payment.updated.abc')).toBeNull();
    expect(networkOfChainSubject('cpg.evt.chain.status.x')).toBeNull();
    expect(networkOfChainSubject('chain.dev-evm.transfer.seen.k')).toBeNull();
  });
});

describe('chainEventProblem', () => {
  const known = (id: string) => id === 'dev-evm' || id === 'dev-ltc';
  it('accepts a subject and payload that agree on a known network', () => {
    expect(chainEventProblem('ns.evt.chain.dev-evm.transfer.seen.k', 'dev-evm', known)).toBeNull();
  });

  it('names a mismatch, an unknown network and a malformed subject', () => {
    expect(chainEventProblem('ns.evt.chain.dev-ltc.transfer.seen.k', 'dev-evm', known)).toMatch(
      /subject network dev-ltc does not match payload network dev-evm/,
    );
    expect(chainEventProblem('ns.evt.chain.nowhere.transfer.seen.k', 'nowhere', known)).toMatch(/unknown network nowhere/);
    expect(chainEventProblem('ns.evt.payment.updated.k', 'dev-evm', known)).toMatch(/not a chain transfer subject/);
  });
});
