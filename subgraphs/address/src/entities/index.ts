export * from './address';
import { AddressEntity } from './address';
export const entities = [AddressEntity];
