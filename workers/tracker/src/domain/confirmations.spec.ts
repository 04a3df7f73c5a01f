import { confirmedUpTo, depthOf, isConfirmed } from './confirmations';

describe('confirmation depth', () => {
  it('counts the block itself as one confirmation', () => {
    expect(depthOf(100, 100)).toBe(1);
    expect(depthOf(102, 100)).toBe(3);
    expect(depthOf(99, 100)).toBe(0);
  });

  it('confirms when scanned - height + 1 reaches the requirement', () => {
    expect(isConfirmed(101, 100, 3)).toBe(false);
    expect(isConfirmed(102, 100, 3)).toBe(true);
    expect(confirmedUpTo(102, 3)).toBe(100);
  });

  it('treats 0 required confirmations as 1: a transfer must be in a block', () => {
    expect(isConfirmed(100, 100, 0)).toBe(true);
    expect(confirmedUpTo(100, 0)).toBe(100);
  });
});
