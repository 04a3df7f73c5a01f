export * from './catalogue';
export * from './config';
export * from './consumer';
export * from './dispatcher';
export * from './secrets';
export * from './service';
export * from './ssrf';
export * from './store';
