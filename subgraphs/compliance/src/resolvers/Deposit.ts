export const Deposit = {
  /** Owned by the payment subgraph; compliance only adds `risk`, so the reference is all it needs. */
  __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
  // No screening has run until compliance lands: not assessed, never an invented verdict.
  risk: (): null => null,
};
