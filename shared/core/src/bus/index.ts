export * from './bus';
export * from './messages';
export * from './permissions';
