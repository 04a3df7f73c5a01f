import { requireOperator } from '@cpg/core/graphql';
import type { AddressContext } from '../../context';

export async function rejectColdWallet(_: unknown, args: { id: string }, ctx: AddressContext) {
  requireOperator(ctx.identity);
  return ctx.addresses.decideColdWallet(args.id, 'reject');
}
