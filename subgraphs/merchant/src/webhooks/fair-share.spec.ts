import { type Candidate, pickFairly } from './fair-share';

const limits = { perEndpoint: 2, perMerchant: 4 };
const none = new Map<string, number>();

function backlog(merchantId: string, endpoints: number, each: number): Candidate[] {
  const out: Candidate[] = [];
  for (let i = 0; i < each; i++) for (let e = 0; e < endpoints; e++) out.push({ id: `${merchantId}-${e}-${i}`, endpointId: `${merchantId}-${e}`, merchantId });
  return out;
}

describe('pickFairly', () => {
  it("gives another merchant its turn even when one merchant's backlog is older and larger", () => {
    // A: 20 endpoints with 5 deliveries each, all older than B's single delivery.
    const candidates = [...backlog('A', 20, 5), { id: 'B-1', endpointId: 'B-ep', merchantId: 'B' }];
    const chosen = pickFairly(candidates, none, none, limits, 8);
    expect(chosen).toContain('B-1');
    expect(chosen.filter((id) => id.startsWith('A-'))).toHaveLength(4);
  });

  it('counts sends already in flight: a merchant at its cap gets nothing more', () => {
    const candidates = [...backlog('A', 20, 1), { id: 'B-1', endpointId: 'B-ep', merchantId: 'B' }];
    const chosen = pickFairly(candidates, none, new Map([['A', 4]]), limits, 64);
    expect(chosen).toEqual(['B-1']);
  });

  it('alternates between merchants, oldest merchant first', () => {
    const candidates = [...backlog('A', 4, 1), ...backlog('B', 4, 1)];
    expect(pickFairly(candidates, none, none, { perEndpoint: 1, perMerchant: 10 }, 4)).toEqual(['A-0-0', 'B-0-0', 'A-1-0', 'B-1-0']);
  });

  it("skips a delivery whose endpoint is full without blocking the merchant's other endpoints", () => {
    const candidates = [
      { id: 'slow-1', endpointId: 'slow', merchantId: 'A' },
      { id: 'slow-2', endpointId: 'slow', merchantId: 'A' },
      { id: 'fast-1', endpointId: 'fast', merchantId: 'A' },
    ];
    expect(pickFairly(candidates, new Map([['slow', 2]]), none, limits, 10)).toEqual(['fast-1']);
  });

  it('never exceeds the room or the per-endpoint cap', () => {
    const chosen = pickFairly(backlog('A', 1, 10), none, none, { perEndpoint: 3, perMerchant: 100 }, 10);
    expect(chosen).toHaveLength(3);
    expect(pickFairly(backlog('A', 10, 10), none, none, { perEndpoint: 3, perMerchant: 100 }, 7)).toHaveLength(7);
  });
});
