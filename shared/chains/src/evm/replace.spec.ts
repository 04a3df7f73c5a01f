import { Transaction, Wallet, getBytes } from 'ethers';
import { buildEvmReplacement } from './replace';

// A fixed test key (0x11..11), never funded anywhere.
const wallet = new Wallet(`0x${'11'.repeat(32)}`);
const key = { privateKey: getBytes(wallet.privateKey), address: wallet.address };
const gwei = 1_000_000_000n;

async function stuck(fields: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }) {
  const raw = await wallet.signTransaction({
    type: 2,
    chainId: 31337n,
    nonce: 7,
    to: '0x000000000000000000000000000000000000dEaD',
    value: 12_345n,
    data: '0xabcdef',
    gasLimit: 60_000n,
    ...fields,
  });
  return { txHash: Transaction.from(raw).hash!, raw };
}

describe('buildEvmReplacement', () => {
  it('keeps nonce, destination, value, data and gas limit, and raises both fees by the percentage', async () => {
    const old = await stuck({ maxFeePerGas: 20n * gwei, maxPriorityFeePerGas: 2n * gwei });
    const r = buildEvmReplacement(key, old, { baseFeePerGas: 1n * gwei, maxPriorityFeePerGas: 1n * gwei }, 25);
    const next = Transaction.from(r.raw);
    expect(next.from).toBe(wallet.address);
    expect(next.hash).toBe(r.txHash);
    expect(r.txHash).not.toBe(old.txHash);
    expect([next.nonce, next.to, next.value, next.data, next.gasLimit, next.chainId]).toEqual([
      7,
      '0x000000000000000000000000000000000000dEaD',
      12_345n,
      '0xabcdef',
      60_000n,
      31337n,
    ]);
    expect(next.maxPriorityFeePerGas).toBe((2n * gwei * 125n) / 100n + 1n);
    expect(next.maxFeePerGas).toBe((20n * gwei * 125n) / 100n + 1n);
    expect(r.nonce).toBe(7);
    expect(r.fee).toBe(60_000n * next.maxFeePerGas!);
    expect(r.feeDetail).toEqual({
      gasLimit: '60000',
      maxFeePerGas: next.maxFeePerGas!.toString(),
      maxPriorityFeePerGas: next.maxPriorityFeePerGas!.toString(),
      replaces: old.txHash,
    });
  });

  it("follows today's fees when they rose past the raised ones", async () => {
    const old = await stuck({ maxFeePerGas: 2n * gwei, maxPriorityFeePerGas: 1n * gwei });
    const r = buildEvmReplacement(key, old, { baseFeePerGas: 30n * gwei, maxPriorityFeePerGas: 5n * gwei }, 25);
    const next = Transaction.from(r.raw);
    expect(next.maxPriorityFeePerGas).toBe(5n * gwei);
    expect(next.maxFeePerGas).toBe(30n * gwei * 2n + 5n * gwei);
  });

  it('refuses a key that does not control the address it claims', async () => {
    const old = await stuck({ maxFeePerGas: 2n * gwei, maxPriorityFeePerGas: 1n * gwei });
    const other = { ...key, address: '0x000000000000000000000000000000000000bEEF' };
    expect(() => buildEvmReplacement(other, old, { baseFeePerGas: gwei, maxPriorityFeePerGas: gwei }, 25)).toThrow(/does not control/);
  });
});
