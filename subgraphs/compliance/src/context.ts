import type { BaseContext } from '@cpg/core/http';
import type { EntityManager } from '@cpg/core/db';
import type { ScreeningService } from './services/screening';
import type { Thresholds } from './domain/engine';

export interface ComplianceContext extends BaseContext {
  em: EntityManager;
  screening: ScreeningService;
  thresholds: Thresholds;
  /** Wakes the outbox relay after a commit that wrote events. */
  kick: () => void;
}
