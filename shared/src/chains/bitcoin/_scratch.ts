import { randomBytes } from 'node:crypto';
import { ECPairFactory } from 'ecpair';
import * as ecc from 'tiny-secp256k1';
import { Psbt } from 'bitcoinjs-lib';
import { getNetwork } from '../networks';
import { createRpcPool } from '../rpc';
import { LitecoinDevControls, prepareDevWallet } from './dev';
import { BitcoinSigner, dustThreshold } from './signer';
import { bitcoinjsNetwork, decodeAddress, p2wpkhAddressOfHash } from './address';
import { createHash } from 'node:crypto';
const ECPair = ECPairFactory(ecc);
async function main() {
  const net = getNetwork('dev-ltc');
  const t = createRpcPool([{ url: 'http://127.0.0.1:29443', username: 'cpg', password: 'cpg' }]);
  await prepareDevWallet(t, console.log);
  const dev = new LitecoinDevControls(net, t);
  const priv = randomBytes(32);
  const kp = ECPair.fromPrivateKey(priv);
  const h = createHash('ripemd160').update(createHash('sha256').update(kp.publicKey).digest()).digest();
  const addr = p2wpkhAddressOfHash(net.bitcoin!, h);
  const txid = await dev.fund(addr, 'dev-ltc:LTC', 100_000_000n);
  await dev.mine(1);
  const s = new BitcoinSigner(net, t, { dustRelayFeeRate: 0 });
  const utxos = await s.spendableUtxos(addr);
  console.log(txid, utxos);
  // dust probe: one input, one tiny output to a p2wpkh
  const dest = decodeAddress(net.bitcoin!, addr);
  if (!dest.ok) throw 1;
  for (const v of [293n, 294n, 2939n, 2940n, 2941n, 545n, 546n]) {
    const p = new Psbt({ network: bitcoinjsNetwork(net) });
    p.addInput({ hash: utxos[0].txid, index: utxos[0].vout, witnessUtxo: { script: utxos[0].script, value: utxos[0].value } });
    p.addOutput({ script: dest.script, value: v });
    p.addOutput({ script: dest.script, value: utxos[0].value - v - 10000n });
    p.signAllInputs(kp); p.finalizeAllInputs();
    const raw = p.extractTransaction().toHex();
    const r = await t.call<any[]>('testmempoolaccept', [[raw]]);
    console.log(v, r[0].allowed, r[0]['reject-reason'] ?? '', 'thr3', dustThreshold(dest.script, 3000n), 'thr30', dustThreshold(dest.script, 30000n));
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
