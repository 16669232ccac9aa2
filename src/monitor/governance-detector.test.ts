/**
 * The governance detector sees m-of-n governance: a halt is a High finding, its lift Info, a
 * rotation of the governors High, a failed queued proposal Medium.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EngineEvent } from '../execution/types.ts';
import { GovernanceDetector } from './detectors/governance.ts';
import type { BlockSignal } from './signals.ts';

function block(events: EngineEvent[]): BlockSignal {
  return {
    kind: 'block',
    height: 9,
    timeMs: 9000,
    events,
    finalityLatencyMs: null,
    marks: new Map(),
    insuranceFund: 0n,
  } as unknown as BlockSignal;
}

test('governance detector: halts, lifts, rotations and failed proposals become findings', () => {
  const findings = new GovernanceDetector().observe(
    block([
      { type: 'governanceHalt', proposalId: 1, underlyingId: 0 },
      { type: 'governanceResume', proposalId: 2, underlyingId: 0 },
      {
        type: 'governanceChanged',
        proposalId: 3,
        governors: 4,
        threshold: 3,
        guardians: 2,
        guardianThreshold: 1,
        timelockMs: 60_000,
      },
      { type: 'governanceFailed', proposalId: 4, action: 'listSeries', reason: 'action.listSeries' },
    ]),
  );
  assert.deepEqual(
    findings.map((f) => [f.alertId, f.severity]),
    [
      ['PALISADE-GOVERNANCE-HALT', 'High'],
      ['PALISADE-GOVERNANCE-RESUME', 'Info'],
      ['PALISADE-GOVERNANCE-CHANGED', 'High'],
      ['PALISADE-GOVERNANCE-FAILED', 'Medium'],
    ],
  );
});
