import { getBalance, getBalances } from './balance';
import { getNetwork } from './networks';
import { ChainError, type RpcTransport } from './types';

function fake(answers: Record<string, (params: unknown[]) => unknown>): RpcTransport & { calls: [string, unknown[]][] } {
  const calls: [string, unknown[]][] = [];
  const run = async (method: string, params: unknown[] = []) => {
    calls.push([method, params]);
    const a = answers[method];
    if (!a) throw new Error(`unexpected ${method}`);
    return a(params);
  };
  return { calls, call: run as RpcTransport['call'], post: ((path: string, body: unknown) => run(path, [body])) as RpcTransport['post'] };
}

const evm = getNetwork('dev-evm', {});
const ltc = getNetwork('dev-ltc', {});
const tron = getNetwork('tron', {});
const A = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

describe('getBalance', () => {
  it('reads EVM native balances and token balances through balanceOf, at latest or a given block', async () => {
    const t = fake({ eth_getBalance: () => '0x0de0b6b3a7640000', eth_call: () => `0x${(12_500_000).toString(16).padStart(64, '0')}` });
    expect(await getBalance(evm, t, A, evm.coins[0]!)).toBe(10n ** 18n);
    expect(await getBalance(evm, t, A, evm.coins[1]!)).toBe(12_500_000n);
    expect(t.calls[1]).toEqual(['eth_call', [{ to: evm.coins[1]!.contract, data: `0x70a08231${A.slice(2).toLowerCase().padStart(64, '0')}` }, 'latest']]);
    await getBalances(evm, t, [A], evm.coins[0]!, { atBlock: 255 });
    expect(t.calls[2]).toEqual(['eth_getBalance', [A, '0xff']]);
  });

  it('sums the unspent outputs of many Bitcoin-family addresses in one scan, retrying while another scan runs', async () => {
    let busy = true;
    const a = 'rltc1q3kquwp848h4juq7rl5q3wqsr29pd3d6wprzz8k';
    const b = 'rltc1qw508d6qejxtdg4y5r3zarvary0c5xw7k8r3q5e';
    const t = fake({
      scantxoutset: () => {
        if (busy) {
          busy = false;
          throw Object.assign(new ChainError('Scan already in progress, use action "abort" or "status"', false), { code: -8 });
        }
        return {
          success: true,
          unspents: [
            { desc: `addr(${a})#abc`, amount: 0.5, scriptPubKey: '' },
            { desc: `addr(${a})#abc`, amount: 0.25, scriptPubKey: '' },
            { desc: `addr(${b.toUpperCase()})#def`, amount: 0.00000001, scriptPubKey: '' },
          ],
        };
      },
    });
    expect(await getBalances(ltc, t, [a, b, 'rltc1qempty'], ltc.coins[0]!)).toEqual([75_000_000n, 1n, 0n]);
    expect(t.calls.filter(([m]) => m === 'scantxoutset')).toHaveLength(2);
    expect(t.calls[1]![1]).toEqual(['start', [`addr(${a})`, `addr(${b})`, 'addr(rltc1qempty)']]);
  });

  it('reads Tron TRX from the account (0 when inactive) and TRC-20 through balanceOf', async () => {
    const addr = 'TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7';
    const t = fake({
      '/wallet/getaccount': () => ({}),
      '/wallet/triggerconstantcontract': () => ({ result: { result: true }, constant_result: [(5_000_000).toString(16).padStart(64, '0')] }),
    });
    expect(await getBalance(tron, t, addr, tron.coins[0]!)).toBe(0n);
    expect(await getBalance(tron, t, addr, tron.coins[1]!)).toBe(5_000_000n);
  });

  it('refuses a coin of another network and passes node failures on', async () => {
    await expect(getBalance(evm, fake({}), A, ltc.coins[0]!)).rejects.toThrow(/not a coin of network/);
    const down = fake({
      eth_getBalance: () => {
        throw new ChainError('connection refused', true);
      },
    });
    await expect(getBalance(evm, down, A, evm.coins[0]!)).rejects.toThrow(ChainError);
  });
});
