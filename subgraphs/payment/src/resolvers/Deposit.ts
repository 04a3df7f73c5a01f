export const Deposit = {
  /** Federation entry: another subgraph referenced a Deposit by id. No rows exist yet, so none resolves. */
  __resolveReference: (_ref: { id: string }): null => null,
};
