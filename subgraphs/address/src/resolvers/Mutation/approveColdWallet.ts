import { requireOperator } from '@cpg/core/graphql';
import type { AddressContext } from '../../context';

export async function approveColdWallet(_: unknown, args: { id: string }, ctx: AddressContext) {
  requireOperator(ctx.identity);
  return ctx.addresses.decideColdWallet(args.id, 'approve');
}
