/**
 * The sweep planner's vocabulary: what it is given (balances, wallets, policy, fee estimates per
 * family) and what it returns (steps, and what waits and why). Types only; see planner.ts.
 */

export interface Ratio {
  numerator: bigint;
  denominator: bigint;
}

export interface PlannerPolicy {
  collectThreshold: bigint;
  hotTarget: bigint;
  maxFeeRatio: Ratio;
}

export interface Wallet {
  addressId: string;
  address: string;
}

export interface Wallets {
  hot: Wallet;
  cold: Wallet | null;
  tokensCollector: Wallet | null;
}

export interface Utxo {
  txid: string;
  vout: number;
  value: bigint;
}

export interface SourceAddress extends Wallet {
  /** Confirmed balance of the coin being collected (base units). */
  balance: bigint;
  /** EVM tokens: the address's native balance (pays its own gas). */
  nativeBalance?: bigint;
  /** Bitcoin family: its confirmed unspent outputs (their sum is `balance`). */
  utxos?: Utxo[];
  /** Tron: the account's state (a never-seen address has no account until a TRX transfer creates it). */
  tron?: TronAccountState;
  /**
   * Part of the balance compliance holds (BLOCK or under review). Such an address is never swept
   * into HOT: it goes to COLD / TOKENS_COLLECTOR, or waits when neither exists.
   */
  held?: bigint;
}

export interface EvmFeeEstimate {
  /** Max fee per gas to sign with (wei); fees are planned at it, so they are upper bounds. */
  maxFeePerGas: bigint;
  /** Gas limit of one token transfer (simulated or a conservative constant such as 65000). */
  tokenTransferGas: bigint;
  /** Gas of a native transfer to an EOA: 21000. */
  nativeTransferGas: bigint;
  /** Extra on a gas top-up, in percent of the estimated gas cost (e.g. 20). */
  topUpMarginPercent: bigint;
}

export interface BitcoinFeeEstimate {
  /** sat per 1000 vB. */
  satPerKvB: bigint;
  /** An output below this is refused by nodes (P2WPKH: 294 sat on Bitcoin, 2940 on Litecoin). */
  dustThreshold: bigint;
}

export interface PlanInput {
  planId: string;
  family: 'EVM' | 'BITCOIN' | 'TRON';
  coinId: string;
  nativeCoinId: string;
  /** Token contract present: an EVM token (gas paid in the native coin). */
  isToken: boolean;
  policy: PlannerPolicy;
  wallets: Wallets;
  /** What the HOT wallet holds of the coin now (base units). */
  hotBalance: bigint;
  /** EVM tokens: the funder's (TOKENS_COLLECTOR, else HOT) native balance, to limit top-ups. */
  funderNativeBalance?: bigint;
  sources: SourceAddress[];
  /** Base units of the coin per base unit of the native coin (1/1 for a native coin). */
  nativeToCoin: Ratio;
  evm?: EvmFeeEstimate;
  bitcoin?: BitcoinFeeEstimate;
  tron?: TronFeeEstimate;
}

export type StepKind = 'gas_topup' | 'sweep' | 'cold_forward';
/** `delegate` / `undelegate`: Tron energy of the funder's staked TRX lent to a USER address and taken back. */
export type StepAction = 'topup' | 'token' | 'native' | 'dust' | 'consolidate' | 'delegate' | 'undelegate';
export type Role = 'USER' | 'HOT' | 'COLD' | 'TOKENS_COLLECTOR';

export interface PlanStep {
  /** Deterministic from the plan id and position, so a re-planned step never gets a second id. */
  id: string;
  seq: number;
  kind: StepKind;
  action: StepAction;
  coinId: string;
  fromRole: 'USER' | 'HOT' | 'TOKENS_COLLECTOR';
  from: Wallet[];
  /** Bitcoin consolidation: the outputs to spend, each with the USER address that owns it. */
  inputs?: (Utxo & { addressId: string })[];
  to: Wallet;
  toRole: Role;
  /** Base units of coinId; for `sweepAll` steps an estimate (everything less the fee at signing). */
  amount: bigint;
  sweepAll: boolean;
  /** Estimated fee, base units of the native coin (upper bound). */
  fee: bigint;
  /** Step ids that must be confirmed on chain before this one is signed. */
  after: string[];
}

export type WaitingReason = 'below_threshold' | 'fee_ratio' | 'dust' | 'funder_short' | 'held';

/**
 * An address the plan leaves for later, with the figures that made the decision, so the reason
 * shown to the merchant can say how far it is from being swept (see waiting.ts).
 */
export interface Waiting {
  address: string;
  reason: WaitingReason;
  /** What the address holds of the coin (base units). */
  amount?: bigint;
  /** fee_ratio / dust: the fees the sweep would pay (native base units, upper bound) ... */
  fee?: bigint;
  /** ... that fee valued in the coin (base units of the coin; equal to `fee` for a native coin) ... */
  feeInCoin?: bigint;
  /** ... and what would arrive (base units of the coin), against which the ratio is taken. */
  moved?: bigint;
  /** funder_short: native the gas top-up needs (its amount and fee) and what the funder has left. */
  need?: bigint;
  have?: bigint;
  /** held: the part compliance holds. */
  held?: bigint;
}

export interface Plan {
  planId: string;
  coinId: string;
  steps: PlanStep[];
  waiting: Waiting[];
  /** Total of coinId moved to each destination role. */
  toHot: bigint;
  toRest: bigint;
  /** Sum of step fee estimates (native base units). */
  fees: bigint;
}

export interface TronAccountState {
  /** The account exists on chain (created by a TRX transfer). */
  activated: boolean;
  /** Energy the account can use now: its own stake or stake delegated to it, less what it used. */
  energyLeft: bigint;
  /** Free bandwidth (bytes) left today; an account created now starts with the daily allowance. */
  freeNetLeft: bigint;
}

export interface TronFeeEstimate {
  /** Sun burnt per unit of energy (chain parameter getEnergyFee). */
  energyFee: bigint;
  /** Sun burnt per byte of bandwidth (getTransactionFee). */
  bandwidthFee: bigint;
  /** Energy of one TRC-20 transfer (an upper bound: the recipient may not hold the token yet). */
  tokenTransferEnergy: bigint;
  /** Bandwidth of one signed TRC-20 transfer (bytes). */
  tokenTransferBytes: bigint;
  /** Bandwidth of one signed TRX transfer, delegation or undelegation (bytes). */
  systemTxBytes: bigint;
  /** Sun a TRX transfer that creates the recipient's account burns (getCreateNewAccountFeeInSystemContract + getCreateAccountFee). */
  activationFee: bigint;
  /** Daily free bandwidth of an account (getFreeNetLimit). */
  freeNetPerDay: bigint;
  /** Extra on a TRX top-up, in percent of what the transfer is estimated to burn. */
  topUpMarginPercent: bigint;
  /** Stake (sun) the funder can delegate for energy now (getcandelegatedmaxsize); 0 when it has none. */
  delegatableSun: bigint;
  /** Energy one staked TRX gives: TotalEnergyLimit / TotalEnergyWeight. */
  energyPerTrx: Ratio;
}
