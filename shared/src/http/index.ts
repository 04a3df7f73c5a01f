export * from './health';
export * from './subgraph';
export * from './service';
