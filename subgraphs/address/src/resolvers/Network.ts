export const Network = {
  /** Federation entry: another subgraph referenced a Network by id. No rows exist yet, so none resolves. */
  __resolveReference: (_ref: { id: string }): null => null,
};
