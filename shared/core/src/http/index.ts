export * from './counters';
export * from './health';
export * from './subgraph';
export * from './service';
export * from './worker';
export * from './merchant-settings-copy';
