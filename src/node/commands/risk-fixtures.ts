/**
 * Fixtures for the risk and conformance tests: a `/v1/network` description of the API's test node
 * (src/node/api/fixture-node.ts), with overrides that weaken it, findings a real source-health
 * detector makes when one oracle source freezes, and a loopback server over both.
 */
import { DEFAULT_MONITOR_CONFIG } from '../../monitor/config.ts';
import { SourceHealthDetector } from '../../monitor/detectors/oracle.ts';
import type { Finding } from '../../monitor/finding.ts';
import type { FixtureNode } from '../api/fixture-node.ts';
import type { NetworkInfo, NetworkValidatorJson } from '../api/network.ts';
import { startApiServer } from '../api/server.ts';
import { hex } from '../view.ts';

export function fixtureNetwork(
  node: FixtureNode,
  overrides: {
    operators?: Array<string | null>;
    keysetThreshold?: number;
    governanceKeys?: number;
    governanceThreshold?: number;
    quorum?: number;
  } = {},
): NetworkInfo {
  const n = node.validators.length;
  const f = Math.floor((n - 1) / 3);
  const validators: NetworkValidatorJson[] = node.validators.map((signer, index) => ({
    index,
    publicKey: `0x${hex(signer.publicKey).replace(/^0x/, '')}`,
    votingPower: 1,
    operator: overrides.operators?.[index] ?? `operator-${index}`,
    jurisdiction: ['CH', 'SG', 'US', 'DE'][index % 4]!,
    hosting: ['aws', 'hetzner', 'ovh', 'self'][index % 4]!,
    keyCustody: ['hsm-a', 'hsm-b', 'mpc-c', 'hsm-d'][index % 4]!,
  }));
  return {
    chainId: node.chainId,
    validators,
    consensus: {
      faultTolerance: f,
      quorum: overrides.quorum ?? n - f,
      leaderMs: 1000,
      notarizationMs: 2000,
      nullifyRetryMs: 1000,
    },
    priceKeyset: { epoch: 1, threshold: overrides.keysetThreshold ?? n - f, participants: n },
    priceCertificates: { everyBlocks: 1 },
    governance: {
      keys: Array.from(
        { length: overrides.governanceKeys ?? 5 },
        (_, i) => `0x${String(i + 1).padStart(64, '0')}`,
      ),
      threshold: overrides.governanceThreshold ?? 3,
      guardians: [],
      guardianThreshold: 0,
      timelockMs: 60_000,
    },
    oracle: {
      assets: [{ assetId: 1, symbol: 'BTC' }],
      sources: [{ id: 'venue-a' }, { id: 'venue-b' }, { id: 'venue-c' }],
    },
    bridge: null,
  };
}

/** Findings a real source-health detector makes when `venue-c` stops moving at the fixture's block times. */
export function stuckSourceFindings(
  startMs: number,
  blocks: number,
  options: { divergingSource?: boolean } = {},
): Finding[] {
  const detector = new SourceHealthDetector(DEFAULT_MONITOR_CONFIG.oracle);
  const findings: Finding[] = [];
  for (let i = 0; i < blocks; i++) {
    const timeMs = startMs + i * 1000;
    const moving = 60_000_000_000n + BigInt(i) * 20_000_000n;
    findings.push(
      ...detector.observe({
        kind: 'oracle',
        height: i + 1,
        timeMs,
        own: [],
        aggregate: [],
        quotes: [
          { sourceId: 'venue-a', assetId: 1, priceTicks: moving, timestampMs: timeMs },
          { sourceId: 'venue-b', assetId: 1, priceTicks: moving + 1_000_000n, timestampMs: timeMs },
          { sourceId: 'venue-c', assetId: 1, priceTicks: 60_000_000_000n, timestampMs: timeMs },
          // With `divergingSource`, venue-d quotes 5% above the moving sources.
          ...(options.divergingSource === true
            ? [{ sourceId: 'venue-d', assetId: 1, priceTicks: (moving * 105n) / 100n, timestampMs: timeMs }]
            : []),
        ],
        dropped: [],
        equivocations: [],
      }),
    );
  }
  return findings;
}

export async function serveFixture(
  node: FixtureNode,
  network: NetworkInfo | undefined,
  findings?: Finding[],
): Promise<{ url: string; close(): Promise<void> }> {
  const view = findings === undefined ? node.view : { ...node.view, findings: () => [...findings].reverse() };
  return startApiServer({ view, ...(network === undefined ? {} : { network }) });
}
