export * from './signature';
export * from './verify';
export * from './payment-snapshot';
export * from './withdrawal-snapshot';
