import type { EntityManager } from '@mikro-orm/postgresql';
import { type NetworkConfig, type RpcTransport } from '@cpg/chains';
import { checkAddress } from '@cpg/chains/evm/address';
import { anvilAccount } from '@cpg/chains/evm/dev-accounts';
import { EvmSigner, waitForReceipt } from '@cpg/chains/signers';
import type { Logger } from '@cpg/core/logger';
import { PayoutRefused } from './chains';

/**
 * Where each EVM network's BatchTransfer contract lives. Real networks name it in the signer's
 * config (environment variable `BATCH_TRANSFER_<NETWORK>`, e.g. BATCH_TRANSFER_ETHEREUM); on dev
 * chains the signer deploys it on first need from anvil's default account 9 (a dev-only, publicly
 * known key that no test or faucet uses) and remembers the address in signer.evm_contracts.
 */

/** Anvil default account used to deploy dev contracts, so no merchant pays for them. */
export const DEV_DEPLOYER_INDEX = 9;
const KIND = 'BatchTransfer';

export class BatchContracts {
  private readonly known = new Map<string, string>();

  constructor(
    private readonly em: EntityManager,
    private readonly schema: string,
    private readonly transportFor: (network: NetworkConfig) => RpcTransport,
    private readonly log: Logger,
    /** BATCH_TRANSFER_<NETWORK> variables by name, from the signer's config (batchTransferVariables). */
    private readonly configured: Record<string, string | undefined>,
  ) {}

  /** The contract's address on `network`, deploying it first on a dev chain. Idempotent. */
  async batchTransfer(network: NetworkConfig): Promise<string> {
    const cached = this.known.get(network.id);
    if (cached) return cached;
    const configured = this.configured[`BATCH_TRANSFER_${network.id.toUpperCase().replace(/-/g, '_')}`];
    if (configured) {
      const check = checkAddress(configured);
      if (!check.ok) throw new PayoutRefused(`BATCH_TRANSFER_${network.id.toUpperCase()} is not an address: ${check.reason}`);
      this.known.set(network.id, check.address);
      return check.address;
    }
    if (!network.dev)
      throw new PayoutRefused(
        `${network.id} has no BatchTransfer contract configured (BATCH_TRANSFER_${network.id.toUpperCase().replace(/-/g, '_')}); send batches of one`,
      );
    const transport = this.transportFor(network);
    const address = await this.em.fork().transactional(async (tx) => {
      // One deployer at a time, across replicas.
      await tx.execute(`select pg_advisory_xact_lock(hashtext(?))`, [`signer:batch-transfer:${network.id}`]);
      const [row] = await tx.execute<{ address: string }[]>(`select address from "${this.schema}".evm_contracts where network_id = ? and kind = ?`, [
        network.id,
        KIND,
      ]);
      // A restarted anvil forgets everything: trust the row only while the code is there.
      if (row && (await hasCode(transport, row.address))) return row.address;
      const signer = new EvmSigner(network, transport);
      const { tx: deploy, address } = await signer.signBatchTransferDeployment(anvilAccount(DEV_DEPLOYER_INDEX));
      await signer.broadcast(deploy);
      const receipt = await waitForReceipt(transport, deploy.txHash, { timeoutMs: 30_000, intervalMs: 100 });
      if (!receipt || receipt.status !== '0x1') throw new Error(`${network.id}: BatchTransfer deployment ${deploy.txHash} was not mined`);
      await tx.execute(
        `insert into "${this.schema}".evm_contracts (network_id, kind, address, tx_hash) values (?, ?, ?, ?)
         on conflict (network_id, kind) do update set address = excluded.address, tx_hash = excluded.tx_hash, created_at = now()`,
        [network.id, KIND, address, deploy.txHash],
      );
      this.log.info({ network: network.id, address, txHash: deploy.txHash }, 'deployed BatchTransfer on the dev chain');
      return address;
    });
    this.known.set(network.id, address);
    return address;
  }
}

async function hasCode(transport: RpcTransport, address: string): Promise<boolean> {
  const code = await transport.call<string>('eth_getCode', [address, 'latest']);
  return code !== '0x' && code !== '0x0' && code !== '';
}
