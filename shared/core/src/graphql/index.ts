export * from './errors';
export * from './scalars';
export * from './identity';
export * from './auth';
export * from './cursor';
export * from './api-key-proof';
export * from './limits';
export * from './public-ref';
