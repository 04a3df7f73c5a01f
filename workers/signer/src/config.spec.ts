import { batchTransferVariables } from './config';

describe('batchTransferVariables', () => {
  it('keeps the set BATCH_TRANSFER_<NETWORK> variables by name and nothing else', () => {
    expect(
      batchTransferVariables({
        BATCH_TRANSFER_ETHEREUM: '0x00000000000000000000000000000000000000aa',
        BATCH_TRANSFER_BSC: '',
        BATCH_TRANSFER_POLYGON: undefined,
        KEY_ENCRYPTION_KEY: 'ab'.repeat(32),
        XBATCH_TRANSFER_ETHEREUM: '0x00000000000000000000000000000000000000bb',
      }),
    ).toEqual({ BATCH_TRANSFER_ETHEREUM: '0x00000000000000000000000000000000000000aa' });
  });
});
