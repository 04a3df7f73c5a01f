// What a React app embeds: the page component, its data source for the gateway, and the string table.
import './checkout.css';

export { Checkout, type CheckoutProps } from './Checkout';
export { gatewaySource, resolveApiUrl, CHECKOUT_FIELDS } from './api';
export { en as strings, type Strings } from './strings';
export type { CheckoutPayment, CheckoutSource, PaymentStatus, WatchEvent } from './types';
