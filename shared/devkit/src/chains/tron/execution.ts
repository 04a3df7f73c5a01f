import {
  TRC20_TRANSFER_SELECTOR,
  TRC20_TRANSFER_TOPIC,
  bandwidthBytes,
  type TronBlockJson,
  type TronTransactionJson,
  type TronTxInfoJson,
} from '@cpg/chains/tron/protocol';
import type { ChainState } from './chain-state';
import { hexMessage, word } from './wire';

// What mining does: each pending transaction is applied to the chain state and gets a receipt in
// the recorded shapes (SUCCESS, REVERT, OUT_OF_ENERGY). Without the resource model, fees follow
// the recorded receipts; with it, bandwidth and energy are charged as java-tron does.

type Outcome = { ret: string; info: TronTxInfoJson };
type Base = { id: string; blockNumber: number; blockTimeStamp: number };

/** Mines the pending transactions into the next block; returns it. */
export function mineBlock(chain: ChainState): TronBlockJson {
  const txs = chain.pending;
  chain.pending = [];
  const blockInfos: TronTxInfoJson[] = [];
  const number = chain.headNumber + 1;
  const timestamp = (chain.head().block_header!.raw_data.timestamp ?? 0) + 3_000;
  const mined = txs.map((tx) => {
    const { ret, info } = execute(chain, tx, number, timestamp);
    blockInfos.push(info);
    return { ret: [{ contractRet: ret }], signature: tx.signature, txID: tx.txID, raw_data: tx.raw_data, raw_data_hex: tx.raw_data_hex };
  });
  return chain.appendBlock(mined, blockInfos, timestamp);
}

function execute(chain: ChainState, tx: TronTransactionJson, blockNumber: number, blockTimeStamp: number): Outcome {
  const contract = tx.raw_data.contract[0]!;
  const bytes = bandwidthBytes(tx.raw_data_hex.length / 2, tx.signature?.length ?? 1);
  const base = { id: tx.txID, blockNumber, blockTimeStamp };
  if (contract.type === 'TransferContract') {
    return executeTransfer(chain, contract.parameter.value as { owner_address: string; to_address: string; amount: number }, base, bytes);
  }
  if (contract.type === 'TriggerSmartContract') {
    return executeTrigger(chain, tx.txID, contract.parameter.value as { owner_address: string; contract_address: string; data?: string }, base, bytes);
  }
  if (contract.type === 'DelegateResourceContract' || contract.type === 'UnDelegateResourceContract') {
    const v = contract.parameter.value as { owner_address: string; receiver_address: string; balance: number; resource?: string };
    const key = `${v.owner_address}:${v.receiver_address}`;
    const now = chain.delegations.get(key) ?? 0n;
    const next = contract.type === 'DelegateResourceContract' ? now + BigInt(v.balance) : now - BigInt(v.balance);
    if (next > 0n) chain.delegations.set(key, next);
    else chain.delegations.delete(key);
  } else if (contract.type === 'FreezeBalanceV2Contract') {
    const v = contract.parameter.value as { owner_address: string; frozen_balance: number; resource?: string };
    if (v.resource === 'ENERGY') {
      chain.trx.set(v.owner_address, (chain.trx.get(v.owner_address) ?? 0n) - BigInt(v.frozen_balance));
      chain.stakedEnergy.set(v.owner_address, (chain.stakedEnergy.get(v.owner_address) ?? 0n) + BigInt(v.frozen_balance));
    }
  }
  if (chain.resourceModel) {
    const owner = String((contract.parameter.value as { owner_address?: string }).owner_address ?? '');
    const netFee = chain.chargeBandwidth(owner, bytes);
    if (netFee) return { ret: 'SUCCESS', info: { ...base, fee: netFee, contractResult: [''], receipt: { net_fee: netFee } } };
  }
  return { ret: 'SUCCESS', info: { ...base, contractResult: [''], receipt: { net_usage: bytes } } };
}

/** A TRX transfer; one to an account that does not exist yet activates it (and costs the sender more). */
function executeTransfer(chain: ChainState, v: { owner_address: string; to_address: string; amount: number }, base: Base, bytes: number): Outcome {
  const amount = BigInt(v.amount);
  chain.trx.set(v.owner_address, (chain.trx.get(v.owner_address) ?? 0n) - amount);
  chain.trx.set(v.to_address, (chain.trx.get(v.to_address) ?? 0n) + amount);
  const created = !chain.activated.has(v.to_address);
  chain.activated.add(v.to_address);
  if (chain.resourceModel) {
    if (created) {
      const fee = (chain.params.getCreateNewAccountFeeInSystemContract ?? 0) + (chain.params.getCreateAccountFee ?? 0);
      chain.trx.set(v.owner_address, (chain.trx.get(v.owner_address) ?? 0n) - BigInt(fee));
      return { ret: 'SUCCESS', info: { ...base, fee, contractResult: [''], receipt: { net_fee: chain.params.getCreateAccountFee ?? 0 } } };
    }
    const netFee = chain.chargeBandwidth(v.owner_address, bytes);
    return {
      ret: 'SUCCESS',
      info: netFee
        ? { ...base, fee: netFee, contractResult: [''], receipt: { net_fee: netFee } }
        : { ...base, contractResult: [''], receipt: { net_usage: bytes } },
    };
  }
  // Shapes of the recorded TRX receipts: an activation burns 1 TRX + 0.1 TRX flat bandwidth.
  const info: TronTxInfoJson = created
    ? { ...base, fee: 1_100_000, contractResult: [''], receipt: { net_fee: 100_000 } }
    : { ...base, contractResult: [''], receipt: { net_usage: bytes } };
  return { ret: 'SUCCESS', info };
}

/** A TRC-20 call (transfer, or anything else, which only costs energy); an unfunded transfer reverts. */
function executeTrigger(
  chain: ChainState,
  txID: string,
  v: { owner_address: string; contract_address: string; data?: string },
  base: Base,
  bytes: number,
): Outcome {
  const contractBody = v.contract_address.slice(2);
  const data = v.data ?? '';
  const isTransfer = data.startsWith(TRC20_TRANSFER_SELECTOR) && data.length === 8 + 128;
  const toBody = isTransfer ? data.slice(8 + 24, 8 + 64) : '';
  const amount = isTransfer ? BigInt(`0x${data.slice(8 + 64)}`) : 0n;
  const fromKey = chain.tokenKey(contractBody, v.owner_address.slice(2));
  const toKey = chain.tokenKey(contractBody, toBody);
  const balance = chain.tokens.get(fromKey) ?? 0n;
  if (chain.revertOnMine.has(txID) || (isTransfer && balance < amount)) {
    chain.revertOnMine.delete(txID);
    // Shape of the recorded FAILED receipt (result FAILED, receipt.result, hex resMessage, no log).
    return {
      ret: 'REVERT',
      info: {
        ...base,
        fee: 0,
        contractResult: [''],
        contract_address: v.contract_address,
        receipt: { energy_usage_total: 9_000, net_usage: bytes, result: 'REVERT' },
        result: 'FAILED',
        resMessage: hexMessage('REVERT opcode executed'),
      },
    };
  }
  const energy = chain.transferEnergyTo(contractBody, toBody);
  const transfer = (info: TronTxInfoJson) => {
    if (!isTransfer) return;
    chain.tokens.set(fromKey, balance - amount);
    chain.tokens.set(toKey, (chain.tokens.get(toKey) ?? 0n) + amount);
    info.log = [{ address: contractBody, topics: [TRC20_TRANSFER_TOPIC, word(v.owner_address.slice(2)), word(toBody)], data: word(amount.toString(16)) }];
  };
  if (chain.resourceModel) return chargedTrigger(chain, v, base, bytes, energy, transfer);
  const info: TronTxInfoJson = {
    ...base,
    fee: energy * (chain.params.getEnergyFee ?? 0),
    contractResult: [word('1')],
    contract_address: v.contract_address,
    receipt: { energy_fee: energy * (chain.params.getEnergyFee ?? 0), energy_usage_total: energy, net_usage: bytes, result: 'SUCCESS' },
  };
  transfer(info);
  return { ret: 'SUCCESS', info };
}

/**
 * A contract call under the resource model: energy from what the account holds (staked or
 * delegated to it), TRX burnt for the rest; OUT_OF_ENERGY burns what the account had and moves
 * nothing. `transfer` applies the call's effect to a successful receipt.
 */
function chargedTrigger(
  chain: ChainState,
  v: { owner_address: string; contract_address: string },
  base: Base,
  bytes: number,
  energy: number,
  transfer: (info: TronTxInfoJson) => void,
): Outcome {
  const owner = v.owner_address;
  const netFee = chain.chargeBandwidth(owner, bytes);
  const used = chain.energyUsed.get(owner) ?? 0;
  const fromStake = Math.max(0, Math.min(energy, chain.energyLimit(owner) - used));
  const energyFee = (energy - fromStake) * (chain.params.getEnergyFee ?? 0);
  const have = chain.trx.get(owner) ?? 0n;
  if (have < BigInt(energyFee)) {
    chain.trx.set(owner, 0n);
    chain.energyUsed.set(owner, used + fromStake);
    return {
      ret: 'OUT_OF_ENERGY',
      info: {
        ...base,
        fee: Number(have) + netFee,
        contractResult: [''],
        contract_address: v.contract_address,
        receipt: {
          ...(fromStake ? { energy_usage: fromStake } : {}),
          ...(have > 0n ? { energy_fee: Number(have) } : {}),
          energy_usage_total: energy,
          ...(netFee ? { net_fee: netFee } : { net_usage: bytes }),
          result: 'OUT_OF_ENERGY',
        },
        result: 'FAILED',
        resMessage: hexMessage('Not enough energy'),
      },
    };
  }
  chain.trx.set(owner, have - BigInt(energyFee));
  chain.energyUsed.set(owner, used + fromStake);
  const fee = energyFee + netFee;
  const info: TronTxInfoJson = {
    ...base,
    ...(fee ? { fee } : {}),
    contractResult: [word('1')],
    contract_address: v.contract_address,
    receipt: {
      ...(fromStake ? { energy_usage: fromStake } : {}),
      ...(energyFee ? { energy_fee: energyFee } : {}),
      energy_usage_total: energy,
      ...(netFee ? { net_fee: netFee } : { net_usage: bytes }),
      result: 'SUCCESS',
    },
  };
  transfer(info);
  return { ret: 'SUCCESS', info };
}
