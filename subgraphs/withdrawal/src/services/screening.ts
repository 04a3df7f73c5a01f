import type { Bus } from '@cpg/core/bus';

export interface ScreeningRequest {
  merchantId: string;
  networkId: string;
  address: string;
  coinId: string;
  /** Base units. */
  amount: bigint;
  /** What is screened, e.g. `withdrawal:<id>`. */
  subjectRef: string;
}

export interface ScreeningResult {
  decision: 'ALLOW' | 'REVIEW' | 'BLOCK';
  reasons: string[];
  assessmentId?: string;
}

/**
 * The compliance hook every withdrawal passes before its hold: BLOCK rejects it (no hold),
 * REVIEW sends it to the operator (PENDING_APPROVAL), ALLOW lets it through. Throwing means the
 * screening could not be done; the withdrawal is then not accepted (UNAVAILABLE).
 */
export interface WithdrawalScreening {
  screen(req: ScreeningRequest): Promise<ScreeningResult>;
}

/** No screening at all (COMPLIANCE_SCREENING=allow): tests, or a deployment without the compliance subgraph. */
export class AllowAllScreening implements WithdrawalScreening {
  async screen(): Promise<ScreeningResult> {
    return { decision: 'ALLOW', reasons: [] };
  }
}

/** Asks the compliance subgraph over NATS request-reply (`compliance.screen`). */
export class NatsScreening implements WithdrawalScreening {
  constructor(
    private readonly bus: Pick<Bus, 'request'>,
    private readonly timeoutMs: number,
  ) {}

  async screen(req: ScreeningRequest): Promise<ScreeningResult> {
    const reply = await this.bus.request(
      'compliance.screen',
      {
        merchantId: req.merchantId,
        networkId: req.networkId,
        address: req.address,
        direction: 'OUT',
        coinId: req.coinId,
        amount: req.amount.toString(),
        subjectRef: req.subjectRef,
      },
      this.timeoutMs,
    );
    return { decision: reply.decision, reasons: reply.reasons, assessmentId: reply.assessmentId };
  }
}
