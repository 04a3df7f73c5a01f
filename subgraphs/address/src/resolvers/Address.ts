export const Address = {
  /** Federation entry: another subgraph referenced a Address by id. No rows exist yet, so none resolves. */
  __resolveReference: (_ref: { id: string }): null => null,
};
