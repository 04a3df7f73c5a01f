import type { Resolvers } from '../generated/resolvers-types';
import { networks } from './Query/networks';
import { network } from './Query/network';
import { coin } from './Query/coin';
import { addresses } from './Query/addresses';
import { validateAddress } from './Query/validateAddress';
import { collectionPolicies } from './Query/collectionPolicies';
import { sweeps } from './Query/sweeps';
import { walletBalances } from './Query/walletBalances';
import { reconciliation } from './Query/reconciliation';
import { awaitingCollection } from './Query/awaitingCollection';
import { createAddress } from './Mutation/createAddress';
import { registerColdWallet } from './Mutation/registerColdWallet';
import { setCollectionPolicy } from './Mutation/setCollectionPolicy';
import { approveColdWallet } from './Mutation/approveColdWallet';
import { rejectColdWallet } from './Mutation/rejectColdWallet';
import { Network } from './Network';
import { Coin } from './Coin';
import { Address } from './Address';

export const resolvers: Resolvers = {
  Query: { networks, network, coin, addresses, validateAddress, collectionPolicies, sweeps, walletBalances, reconciliation, awaitingCollection },
  Mutation: { createAddress, registerColdWallet, setCollectionPolicy, approveColdWallet, rejectColdWallet },
  Network,
  Coin,
  Address,
};
