import { getNetwork } from '../networks';
import {
  P2WPKH_INPUT_VBYTES_FLOOR,
  P2WPKH_INPUT_WEIGHT,
  consolidationFee,
  consolidationVsize,
  dustThreshold,
  feeAtRate,
  formatRate,
  marginalInputFee,
  outputScriptLength,
  p2wpkhDustThreshold,
  p2wpkhSpendVsize,
  txVsize,
} from './fees';

describe('consolidation size', () => {
  it('matches the known size of a 1-in 1-out P2WPKH transaction (110 vB with a 73-byte signature)', () => {
    // 10.5 vB overhead + 68.25 vB input + 31 vB output = 109.75 -> 110.
    expect(consolidationVsize(1, [outputScriptLength('p2wpkh')])).toBe(110);
  });

  it('grows by 68.25 vB per input, within a vbyte of the 68 vB floor', () => {
    expect(P2WPKH_INPUT_WEIGHT / 4).toBe(68.25);
    const a = consolidationVsize(20, [22]);
    const b = consolidationVsize(21, [22]);
    expect(b - a).toBeGreaterThanOrEqual(68);
    expect(b - a).toBeLessThanOrEqual(69);
    const per = (consolidationVsize(100, [22]) - 10.5 - 31) / 100;
    expect(per - P2WPKH_INPUT_VBYTES_FLOOR).toBeLessThan(1);
  });

  it('counts the varint of the input count (253 inputs and more take 3 bytes)', () => {
    const w = (n: number) => consolidationVsize(n, [22]) * 4;
    expect(w(253) - w(252)).toBeGreaterThanOrEqual(P2WPKH_INPUT_WEIGHT + 8 - 4);
  });

  it('sizes outputs by script: P2WSH and P2TR 43 vB, P2PKH 34, P2SH 32, P2WPKH 31', () => {
    const base = consolidationVsize(1, [22]);
    expect(consolidationVsize(1, [22, outputScriptLength('p2wsh')]) - base).toBe(43);
    expect(consolidationVsize(1, [22, outputScriptLength('p2tr')]) - base).toBe(43);
    expect(consolidationVsize(1, [22, outputScriptLength('p2pkh')]) - base).toBe(34);
    expect(consolidationVsize(1, [22, outputScriptLength('p2sh')]) - base).toBe(32);
  });

  it('prices the size at sat/kvB, rounding up', () => {
    expect(consolidationFee(1, [22], 1000n)).toBe(110n);
    expect(consolidationFee(1, [22], 1001n)).toBe(111n);
    expect(consolidationFee(20, [22], 10_000n)).toBe(BigInt(consolidationVsize(20, [22])) * 10n);
    expect(marginalInputFee(1000n)).toBe(69n);
    expect(marginalInputFee(4000n)).toBe(273n);
  });

  it('refuses nonsense', () => {
    expect(() => consolidationVsize(0, [22])).toThrow(RangeError);
    expect(() => consolidationVsize(1, [])).toThrow(RangeError);
    expect(() => consolidationFee(1, [22], -1n)).toThrow(RangeError);
  });
});

describe('the one estimator', () => {
  it('sizes a one-input withdrawal with change at 141 vB, as the withdrawal quote assumes', () => {
    expect(p2wpkhSpendVsize(1, 2)).toBe(141);
    expect(txVsize(P2WPKH_INPUT_WEIGHT, 1, [22, 22])).toBe(141);
    expect(feeAtRate(141, 10_000n)).toBe(1410n);
  });

  it('gives the P2WPKH dust limit the nodes apply: 294 sat on Bitcoin, 2940 on Litecoin', () => {
    expect(p2wpkhDustThreshold(getNetwork('dev-ltc'))).toBe(2940n);
    const script = new Uint8Array(22);
    script[1] = 20;
    expect(dustThreshold(script, 3000n)).toBe(294n);
  });

  it('prints sat/kvB as sat/vB without trailing zeros', () => {
    expect(formatRate(12_500n)).toBe('12.5');
    expect(formatRate(3000n)).toBe('3');
    expect(formatRate(1n)).toBe('0.001');
  });
});
