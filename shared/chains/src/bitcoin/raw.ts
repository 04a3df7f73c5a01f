// Bitcoin Core's verbose transaction and block JSON: the parts this family reads. Shared by the
// watcher and the transaction status reader; types only.

export interface RawScriptPubKey {
  type?: string;
  /** Bitcoin Core >= 22. */
  address?: string;
  /** Bitcoin Core < 22 and Litecoin Core 0.21. */
  addresses?: string[];
}
export interface RawVout {
  value: number | string;
  n: number;
  scriptPubKey: RawScriptPubKey;
  /** Litecoin: output lives in the MWEB extension block. */
  ismweb?: boolean;
}
export interface RawVin {
  coinbase?: string;
  txid?: string;
  vout?: number;
}
export interface RawTransaction {
  txid: string;
  vin: RawVin[];
  vout: RawVout[];
  blockhash?: string;
  confirmations?: number;
}
export interface RawBlock {
  hash: string;
  height: number;
  previousblockhash?: string;
  time: number;
  confirmations?: number;
  tx: RawTransaction[];
}
