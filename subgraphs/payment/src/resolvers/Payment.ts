export const Payment = {
  /** Federation entry: another subgraph referenced a Payment by id. No rows exist yet, so none resolves. */
  __resolveReference: (_ref: { id: string }): null => null,
};
