export const Coin = {
  /** Federation entry: another subgraph referenced a Coin by id. No rows exist yet, so none resolves. */
  __resolveReference: (_ref: { id: string }): null => null,
};
