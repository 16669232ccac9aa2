/**
 * Ledger and risk detectors over the engine's events and totals: large withdrawals, liquidation
 * cascades and what the backstop did (insurance takes, auto-deleveraging, unrecovered loss),
 * insurance-fund drawdown, and open interest concentrated in one account.
 */
import type { MonitorConfig } from '../config.ts';
import type { Detector } from '../detector.ts';
import { accountAddress, createFinding, type Finding } from '../finding.ts';
import type { MonitorSignal } from '../signals.ts';
import { FINDINGS_PER_BLOCK_MAX } from './trading.ts';

/** A withdrawal over an absolute amount or over a share of everything ever deposited. */
export class LargeWithdrawalDetector implements Detector {
  readonly name = 'large-withdrawal';
  readonly #config: MonitorConfig['ledger'];

  constructor(config: MonitorConfig['ledger']) {
    this.#config = config;
  }

  observe(signal: MonitorSignal): Finding[] {
    if (signal.kind !== 'block') return [];
    const findings: Finding[] = [];
    let index = 0;
    for (const event of signal.events) {
      if (event.type !== 'withdrawal') continue;
      index += 1;
      if (findings.length >= FINDINGS_PER_BLOCK_MAX) break;
      const overAmount = event.amount >= this.#config.largeWithdrawalAmount;
      const shareBps = signal.totalDeposits > 0n ? (event.amount * 10_000n) / signal.totalDeposits : 0n;
      const overShare = shareBps >= BigInt(this.#config.largeWithdrawalShareBps);
      if (!overAmount && !overShare) continue;
      findings.push(
        createFinding({
          alertId: 'PALISADE-LARGE-WITHDRAWAL',
          name: 'Large withdrawal',
          description: `An account withdrew ${event.amount} base units, ${shareBps} bps of all deposits`,
          severity: overAmount && overShare ? 'High' : 'Medium',
          type: 'Suspicious',
          metadata: {
            amount: event.amount,
            shareOfDepositsBps: shareBps,
            totalDeposits: signal.totalDeposits,
          },
          addresses: [accountAddress(event.account)],
          height: signal.height,
          timeMs: signal.timeMs,
          key: `${event.account}/${index}`,
        }),
      );
    }
    return findings;
  }
}

/**
 * Many distinct accounts liquidated within a few blocks: a price move is running through the book
 * faster than makers refill it. Also one finding per block for what the backstop had to do.
 */
export class LiquidationCascadeDetector implements Detector {
  readonly name = 'liquidation-cascade';
  readonly #config: MonitorConfig['ledger'];
  /** Account → the last height it was liquidated at (at most `cascadeAccounts` × 64 kept). */
  readonly #liquidated = new Map<string, number>();
  #reportedAtHeight = Number.NEGATIVE_INFINITY;

  constructor(config: MonitorConfig['ledger']) {
    this.#config = config;
  }

  observe(signal: MonitorSignal): Finding[] {
    if (signal.kind !== 'block') return [];
    const findings: Finding[] = [];
    const deleveraged = new Set<string>();
    const backstopped = new Set<string>();
    let unrecovered = 0n;
    const unrecoveredAccounts = new Set<string>();
    for (const event of signal.events) {
      if (
        event.type === 'liquidationStep' ||
        event.type === 'backstopTaken' ||
        event.type === 'autoDeleverage' ||
        event.type === 'liquidationStalled'
      ) {
        const account = accountAddress(event.account);
        this.#liquidated.delete(account);
        this.#liquidated.set(account, signal.height);
        if (this.#liquidated.size > this.#config.cascadeAccounts * 64)
          this.#liquidated.delete(this.#liquidated.keys().next().value!);
        if (event.type === 'autoDeleverage') deleveraged.add(account);
        if (event.type === 'backstopTaken') backstopped.add(account);
      } else if (event.type === 'unrecoveredLoss') {
        unrecovered += event.amount;
        unrecoveredAccounts.add(accountAddress(event.account));
      }
    }
    for (const [account, height] of this.#liquidated) {
      if (height > signal.height - this.#config.cascadeWindowBlocks) break;
      this.#liquidated.delete(account);
    }
    const common = { height: signal.height, timeMs: signal.timeMs };
    if (
      this.#liquidated.size >= this.#config.cascadeAccounts &&
      signal.height - this.#reportedAtHeight >= this.#config.cascadeWindowBlocks
    ) {
      this.#reportedAtHeight = signal.height;
      findings.push(
        createFinding({
          alertId: 'PALISADE-LIQUIDATION-CASCADE',
          name: 'Liquidation cascade',
          description: `${this.#liquidated.size} accounts were liquidated within ${this.#config.cascadeWindowBlocks} blocks`,
          severity: 'High',
          type: 'Degraded',
          metadata: { accounts: this.#liquidated.size, windowBlocks: this.#config.cascadeWindowBlocks },
          addresses: [...this.#liquidated.keys()].slice(-16),
          ...common,
        }),
      );
    }
    if (backstopped.size > 0)
      findings.push(
        createFinding({
          alertId: 'PALISADE-BACKSTOP-TAKEN',
          name: 'Insurance backstop took positions',
          description: `The insurance fund's backstop took positions of ${backstopped.size} accounts the book could not absorb`,
          severity: 'Medium',
          type: 'Degraded',
          metadata: { accounts: backstopped.size },
          addresses: [...backstopped].slice(0, 16),
          ...common,
        }),
      );
    if (deleveraged.size > 0)
      findings.push(
        createFinding({
          alertId: 'PALISADE-AUTO-DELEVERAGE',
          name: 'Auto-deleveraging',
          description: `${deleveraged.size} liquidated accounts were closed against opposite positions (ADL)`,
          severity: 'High',
          type: 'Degraded',
          metadata: { accounts: deleveraged.size },
          addresses: [...deleveraged].slice(0, 16),
          ...common,
        }),
      );
    if (unrecovered > 0n)
      findings.push(
        createFinding({
          alertId: 'PALISADE-UNRECOVERED-LOSS',
          name: 'Unrecovered loss',
          description: `${unrecovered} base units of losses could be covered neither by the insurance fund nor by ADL`,
          severity: 'Critical',
          type: 'Degraded',
          metadata: { amount: unrecovered, accounts: unrecoveredAccounts.size },
          addresses: [...unrecoveredAccounts].slice(0, 16),
          ...common,
        }),
      );
    return findings;
  }
}

/**
 * The insurance fund below its highest value of the last `insuranceWindowBlocks` by at least
 * `insuranceDrawdownBps`. Reported on entering a drawdown; re-armed once it is back under half the
 * threshold. The window's maximum is kept in a monotonic queue (at most the window's length).
 */
export class InsuranceDrawdownDetector implements Detector {
  readonly name = 'insurance-drawdown';
  readonly #config: MonitorConfig['ledger'];
  #peaks: Array<{ height: number; fund: bigint }> = [];
  #inDrawdown = false;

  constructor(config: MonitorConfig['ledger']) {
    this.#config = config;
  }

  observe(signal: MonitorSignal): Finding[] {
    if (signal.kind !== 'block') return [];
    const fund = signal.insuranceFund;
    while (this.#peaks.length > 0 && this.#peaks.at(-1)!.fund <= fund) this.#peaks.pop();
    this.#peaks.push({ height: signal.height, fund });
    while (this.#peaks[0]!.height <= signal.height - this.#config.insuranceWindowBlocks) this.#peaks.shift();
    const peak = this.#peaks[0]!.fund;
    const drawdownBps = peak > 0n ? ((peak - fund) * 10_000n) / peak : 0n;
    const threshold = BigInt(this.#config.insuranceDrawdownBps);
    if (this.#inDrawdown) {
      if (drawdownBps * 2n < threshold) this.#inDrawdown = false;
      return [];
    }
    if (drawdownBps < threshold) return [];
    this.#inDrawdown = true;
    return [
      createFinding({
        alertId: 'PALISADE-INSURANCE-DRAWDOWN',
        name: 'Insurance fund drawdown',
        description: `The insurance fund fell ${drawdownBps} bps from ${peak} to ${fund} within ${this.#config.insuranceWindowBlocks} blocks`,
        severity: 'High',
        type: 'Degraded',
        metadata: { peak, fund, drawdownBps, windowBlocks: this.#config.insuranceWindowBlocks },
        height: signal.height,
        timeMs: signal.timeMs,
      }),
    ];
  }
}

/** One account holding most of a series' open interest on either side. */
export class ConcentrationDetector implements Detector {
  readonly name = 'open-interest-concentration';
  readonly #config: MonitorConfig['ledger'];
  /** `series/side/account` currently reported; cleared when the share falls back. */
  readonly #reported = new Set<string>();

  constructor(config: MonitorConfig['ledger']) {
    this.#config = config;
  }

  observe(signal: MonitorSignal): Finding[] {
    if (signal.kind !== 'openInterest') return [];
    const findings: Finding[] = [];
    const stillConcentrated = new Set<string>();
    for (const series of signal.series.slice(0, 4096)) {
      if (series.openInterestLots < this.#config.concentrationLotsMin) continue;
      for (const [side, holders] of [
        ['long', series.longs],
        ['short', series.shorts],
      ] as const) {
        let top: { account: string; lots: number } | undefined;
        for (const holder of holders) if (top === undefined || holder.lots > top.lots) top = holder;
        if (top === undefined) continue;
        const shareBps = Math.floor((top.lots * 10_000) / series.openInterestLots);
        if (shareBps < this.#config.concentrationBps) continue;
        const account = accountAddress(top.account);
        const key = `${series.seriesId}/${side}/${account}`;
        stillConcentrated.add(key);
        if (this.#reported.has(key) || findings.length >= FINDINGS_PER_BLOCK_MAX) continue;
        findings.push(
          createFinding({
            alertId: 'PALISADE-CONCENTRATED-OPEN-INTEREST',
            name: 'Concentrated open interest',
            description: `One account holds ${shareBps} bps of series ${series.seriesId}'s ${side} open interest (${top.lots} of ${series.openInterestLots} lots)`,
            severity: shareBps >= 9_000 ? 'Medium' : 'Low',
            type: 'Suspicious',
            metadata: {
              seriesId: series.seriesId,
              side,
              lots: top.lots,
              openInterestLots: series.openInterestLots,
              shareBps,
            },
            addresses: [account],
            height: signal.height,
            timeMs: signal.timeMs,
            key,
          }),
        );
      }
    }
    for (const key of [...this.#reported]) if (!stillConcentrated.has(key)) this.#reported.delete(key);
    for (const finding of findings)
      this.#reported.add(`${finding.metadata.seriesId}/${finding.metadata.side}/${finding.addresses[0]}`);
    return findings;
  }
}
