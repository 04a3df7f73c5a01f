export * from './bus';
export * from './messages';
