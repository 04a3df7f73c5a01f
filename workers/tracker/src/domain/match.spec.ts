import { getNetwork, type Transfer } from '@cpg/chains';
import { matchTransfers } from './match';
import { WatchList } from './watchlist';

const net = getNetwork('dev-evm');
const M = '11111111-1111-4111-8111-111111111111';
const user = '0x00000000000000000000000000000000000000aA';
const hot = '0x00000000000000000000000000000000000000bB';
const t = (from: string | null, to: string, index = 0): Transfer => ({
  network: net.id,
  txHash: '0xabc',
  index,
  from,
  to,
  coinId: 'dev-evm:ETH',
  amount: 5n,
  blockHeight: 10,
  blockHash: '0xb10',
});

describe('matchTransfers', () => {
  const list = new WatchList(net);
  list.add(user, { addressId: '22222222-2222-4222-8222-222222222222', merchantId: M, type: 'USER' });
  list.add(hot, { addressId: '33333333-3333-4333-8333-333333333333', merchantId: M, type: 'HOT' });

  it('keeps only transfers to watched addresses, whatever the case on chain', () => {
    const out = matchTransfers(net, list, [t(null, user.toLowerCase()), t(null, '0x' + '1'.repeat(40), 1)], 12);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ addressId: '22222222-2222-4222-8222-222222222222', merchantId: M, amount: '5', confirmations: 3, internal: false });
  });

  it('tags a top-up from our hot wallet internal', () => {
    expect(matchTransfers(net, list, [t(hot.toUpperCase().replace('0X', '0x'), user)], 10)[0]!.internal).toBe(true);
  });

  it('reports mempool transfers with zero confirmations', () => {
    expect(matchTransfers(net, list, [{ ...t(null, user), blockHeight: null, blockHash: null }], null)[0]!.confirmations).toBe(0);
  });
});
