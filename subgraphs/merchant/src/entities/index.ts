export * from './merchant';
export * from './api-key';
import { Merchant } from './merchant';
import { ApiKey } from './api-key';
export const entities = [Merchant, ApiKey];
