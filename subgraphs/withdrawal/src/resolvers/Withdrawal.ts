export const Withdrawal = {
  /** Federation entry: another subgraph referenced a Withdrawal by id. No rows exist yet, so none resolves. */
  __resolveReference: (_ref: { id: string }): null => null,
};
