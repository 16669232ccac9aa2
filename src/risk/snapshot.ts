/**
 * A snapshot of what a running network serves through its API (docs/api.md), taken once so that
 * every figure of the risk report and every conformance check reads the same moment. The risk
 * layer does not import the node: the caller injects `fetchJson` / `fetchText` (the commands use
 * HTTP; tests use an in-process server), and this module only shapes and bounds what comes back.
 *
 * What is read: `/v1/status` (height, view, validators connected as this node sees them),
 * `/v1/network` (genesis: voting power, declared metadata, quorum, keyset threshold, governance,
 * oracle sources; absent on a node that serves none), the last `windowBlocks` finalized blocks
 * from `/v1/blocks/:height` (time, view, finalization certificate, encoding), `/v1/oracle/prices`,
 * `/v1/oracle/certificates`, `/v1/findings` and `/metrics` (the finality histogram).
 */
import { BlockCodec } from '../codec/consensus.ts';
import { BlockPayloadCodec } from '../codec/node.ts';
import { SignedObservationCodec } from '../codec/oracle.ts';

export interface HttpAnswer {
  status: number;
  body: unknown;
}

export interface RiskFetchers {
  /** GETs `path` (e.g. `/v1/status`) from the node and parses the JSON body. */
  fetchJson(path: string): Promise<HttpAnswer>;
  /** GETs `path` as text (`/metrics`). */
  fetchText(path: string): Promise<{ status: number; text: string }>;
  /**
   * Verifies a `/v1/blocks/:height` answer's finality (encoding, hash, descendants and the quorum of
   * finalize signatures) against the validators' keys; the node's client provides it. Without it
   * certificates are only counted, not verified.
   */
  verifyFinality?(block: unknown, validatorPublicKeys: readonly string[], chainId: number): boolean;
}

export class RiskError extends Error {
  override readonly name = 'RiskError';
  readonly code: 'UNREACHABLE' | 'BAD_RESPONSE' | 'INVALID_SPEC' | 'INVALID_OPTION';
  readonly field: string | undefined;
  constructor(code: RiskError['code'], message: string, field?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.field = field;
  }
}

export interface ValidatorInfo {
  index: number;
  publicKey: string;
  votingPower: number;
  operator: string | null;
  jurisdiction: string | null;
  hosting: string | null;
  keyCustody: string | null;
  connected: boolean;
}

export interface NetworkDescription {
  chainId: number;
  validators: ValidatorInfo[];
  /** Voting power needed for a certificate (2f + 1 of equal votes). */
  quorumPower: number;
  totalPower: number;
  faultTolerance: number;
  notarizationMs: number | null;
  priceKeyset: { threshold: number; participants: number } | null;
  certificateEveryBlocks: number | null;
  governance: { keys: number; threshold: number } | null;
  oracleSources: string[] | null;
  bridge: null;
  /** False when the node serves no `/v1/network`: the figures then come from `/v1/status` alone. */
  declared: boolean;
}

export interface ObservationSample {
  validator: number;
  assetId: number;
  priceTicks: bigint;
  confidenceTicks: bigint;
  sourceCount: number;
  sourceTimeMs: number;
}

export interface BlockSample {
  height: number;
  view: number;
  timeMs: number;
  proposer: number;
  certificateView: number;
  /** Distinct validator indexes whose finalize signatures the certificate carries. */
  certificateSigners: number[];
  /** Whether the certificate verified (null: no verifier was given). */
  certificateVerified: boolean | null;
  observations: ObservationSample[];
}

export interface PriceSample {
  assetId: number;
  symbol: string;
  price: bigint;
  confidence: bigint;
  publishTimeMs: number;
  stale: boolean;
  height: number;
}

export interface CertificateSample {
  assetId: number;
  symbol: string;
  height: number;
  epoch: number;
  publishTimeMs: number;
}

export interface FindingSample {
  alertId: string;
  severity: string;
  type: string;
  addresses: string[];
  metadata: Record<string, string>;
  height: number;
  timeMs: number;
}

export interface NetworkSnapshot {
  url: string;
  takenAtMs: number;
  height: number;
  view: number;
  nodeTimeMs: number;
  network: NetworkDescription;
  blocks: BlockSample[];
  prices: PriceSample[];
  keyset: { epoch: number; threshold: number; participants: number } | null;
  certificates: CertificateSample[];
  findings: FindingSample[] | null;
  evidenceCount: number | null;
  /** Cumulative bucket counts of `palisade_finality_latency_seconds` (upper bound s → count). */
  finalityHistogram: Array<{ le: number; count: number }>;
}

/** Blocks read at most: each is one request, and the report's window is this long at most. */
export const WINDOW_BLOCKS_MAX = 1000;

type Obj = Record<string, unknown>;

function objectOf(value: unknown, field: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new RiskError('BAD_RESPONSE', `${field} is not an object`, field);
  return value as Obj;
}
function arrayOf(value: unknown, field: string, max = 100_000): unknown[] {
  if (!Array.isArray(value) || value.length > max)
    throw new RiskError('BAD_RESPONSE', `${field} is not an array of at most ${max}`, field);
  return value;
}
function numberOf(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value))
    throw new RiskError('BAD_RESPONSE', `${field} is not a safe integer`, field);
  return value;
}
function stringOf(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new RiskError('BAD_RESPONSE', `${field} is not a string`, field);
  return value;
}
function labelOf(value: unknown, field: string): string | null {
  return value === null || value === undefined ? null : stringOf(value, field);
}
function bigintOf(value: unknown, field: string): bigint {
  const text = stringOf(value, field);
  if (!/^(0|[1-9][0-9]{0,30})$/.test(text))
    throw new RiskError('BAD_RESPONSE', `${field} is not a decimal integer`, field);
  return BigInt(text);
}
function hexBytes(value: unknown, field: string): Uint8Array {
  const text = stringOf(value, field);
  if (!/^0x([0-9a-f]{2})*$/.test(text)) throw new RiskError('BAD_RESPONSE', `${field} is not hex`, field);
  return Uint8Array.from(Buffer.from(text.slice(2), 'hex'));
}

async function getJson(fetchers: RiskFetchers, path: string): Promise<HttpAnswer> {
  try {
    return await fetchers.fetchJson(path);
  } catch (cause) {
    throw new RiskError('UNREACHABLE', `GET ${path} failed: ${(cause as Error).message}`, path, { cause });
  }
}

async function required(fetchers: RiskFetchers, path: string): Promise<unknown> {
  const answer = await getJson(fetchers, path);
  if (answer.status !== 200)
    throw new RiskError('BAD_RESPONSE', `GET ${path} answered ${answer.status}`, path);
  return answer.body;
}

function networkFrom(status: Obj, network: Obj | undefined): NetworkDescription {
  const connectedByIndex = new Map<number, boolean>();
  const statusValidators = arrayOf(status.validators, 'status.validators', 128).map((entry, i) => {
    const v = objectOf(entry, `status.validators[${i}]`);
    const index = numberOf(v.index, `status.validators[${i}].index`);
    connectedByIndex.set(index, v.connected === true);
    return { index, publicKey: stringOf(v.publicKey, `status.validators[${i}].publicKey`) };
  });
  if (network === undefined) {
    const n = statusValidators.length;
    const f = Math.floor((n - 1) / 3);
    return {
      chainId: numberOf(status.chainId, 'status.chainId'),
      validators: statusValidators.map((v) => ({
        ...v,
        votingPower: 1,
        operator: null,
        jurisdiction: null,
        hosting: null,
        keyCustody: null,
        connected: connectedByIndex.get(v.index) ?? false,
      })),
      quorumPower: n - f,
      totalPower: n,
      faultTolerance: f,
      notarizationMs: null,
      priceKeyset: null,
      certificateEveryBlocks: null,
      governance: null,
      oracleSources: null,
      bridge: null,
      declared: false,
    };
  }
  const validators = arrayOf(network.validators, 'network.validators', 128).map((entry, i) => {
    const at = `network.validators[${i}]`;
    const v = objectOf(entry, at);
    const index = numberOf(v.index, `${at}.index`);
    return {
      index,
      publicKey: stringOf(v.publicKey, `${at}.publicKey`),
      votingPower: numberOf(v.votingPower, `${at}.votingPower`),
      operator: labelOf(v.operator, `${at}.operator`),
      jurisdiction: labelOf(v.jurisdiction, `${at}.jurisdiction`),
      hosting: labelOf(v.hosting, `${at}.hosting`),
      keyCustody: labelOf(v.keyCustody, `${at}.keyCustody`),
      connected: connectedByIndex.get(index) ?? false,
    };
  });
  const consensus = objectOf(network.consensus, 'network.consensus');
  const keyset = objectOf(network.priceKeyset, 'network.priceKeyset');
  const governance = objectOf(network.governance, 'network.governance');
  const oracle = objectOf(network.oracle, 'network.oracle');
  const totalPower = validators.reduce((sum, v) => sum + v.votingPower, 0);
  const n = validators.length;
  const quorum = numberOf(consensus.quorum, 'network.consensus.quorum');
  // Equal votes: the quorum count is the quorum power. With unequal powers the same fraction applies.
  const quorumPower = n === 0 ? 0 : Math.ceil((quorum * totalPower) / n);
  return {
    chainId: numberOf(network.chainId, 'network.chainId'),
    validators,
    quorumPower,
    totalPower,
    faultTolerance: numberOf(consensus.faultTolerance, 'network.consensus.faultTolerance'),
    notarizationMs: numberOf(consensus.notarizationMs, 'network.consensus.notarizationMs'),
    priceKeyset: {
      threshold: numberOf(keyset.threshold, 'network.priceKeyset.threshold'),
      participants: numberOf(keyset.participants, 'network.priceKeyset.participants'),
    },
    certificateEveryBlocks: numberOf(
      objectOf(network.priceCertificates, 'network.priceCertificates').everyBlocks,
      'network.priceCertificates.everyBlocks',
    ),
    governance: {
      keys: arrayOf(governance.keys, 'network.governance.keys', 128).length,
      threshold: numberOf(governance.threshold, 'network.governance.threshold'),
    },
    oracleSources: arrayOf(oracle.sources, 'network.oracle.sources', 256).map((s, i) =>
      stringOf(objectOf(s, `network.oracle.sources[${i}]`).id, `network.oracle.sources[${i}].id`),
    ),
    bridge: null,
    declared: true,
  };
}

function blockFrom(
  body: unknown,
  keyIndex: ReadonlyMap<string, number>,
  verify: ((block: unknown) => boolean) | undefined,
): BlockSample {
  const block = objectOf(body, 'block');
  const height = numberOf(block.height, 'block.height');
  const finalization = objectOf(block.finalization, `block ${height}.finalization`);
  const signers = new Set<number>();
  for (const [i, vote] of arrayOf(finalization.votes, `block ${height}.finalization.votes`, 128).entries())
    signers.add(
      numberOf(objectOf(vote, `votes[${i}]`).signer, `block ${height}.finalization.votes[${i}].signer`),
    );
  const observations: ObservationSample[] = [];
  try {
    const decoded = BlockCodec.decode(hexBytes(block.encoded, `block ${height}.encoded`));
    const payload = BlockPayloadCodec.decode(decoded.payload);
    for (const bytes of payload.observations) {
      const observation = SignedObservationCodec.decode(bytes);
      const validator = keyIndex.get(Buffer.from(observation.body.validator).toString('hex'));
      if (validator === undefined) continue;
      for (const entry of observation.body.entries) {
        observations.push({
          validator,
          assetId: entry.assetId,
          priceTicks: entry.priceTicks,
          confidenceTicks: entry.confidenceTicks,
          sourceCount: entry.sourceCount,
          sourceTimeMs: entry.sourceTimeMs,
        });
      }
    }
  } catch (cause) {
    if (cause instanceof RiskError) throw cause;
    throw new RiskError('BAD_RESPONSE', `block ${height} does not decode`, `block ${height}.encoded`, {
      cause,
    });
  }
  return {
    height,
    view: numberOf(block.view, `block ${height}.view`),
    timeMs: numberOf(block.timeMs, `block ${height}.timeMs`),
    proposer: numberOf(block.proposer, `block ${height}.proposer`),
    certificateView: numberOf(finalization.view, `block ${height}.finalization.view`),
    certificateSigners: [...signers].sort((a, b) => a - b),
    certificateVerified: verify === undefined ? null : verify(body),
    observations,
  };
}

/** Cumulative `le` buckets of one histogram in Prometheus text, summed over label sets. */
export function histogramBuckets(text: string, name: string): Array<{ le: number; count: number }> {
  const byBound = new Map<number, number>();
  const pattern = new RegExp(`^${name}_bucket\\{([^}]*)\\}\\s+([0-9.eE+-]+)`, 'gm');
  for (const match of text.matchAll(pattern)) {
    const le = /le="([^"]+)"/.exec(match[1]!)?.[1];
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    const count = Number(match[2]);
    if (!Number.isFinite(count) || Number.isNaN(bound)) continue;
    byBound.set(bound, (byBound.get(bound) ?? 0) + count);
  }
  return [...byBound.entries()].sort(([a], [b]) => a - b).map(([le, count]) => ({ le, count }));
}

export interface CollectOptions {
  url: string;
  /** Finalized blocks to read back from the tip (1 to 1,000; default 100). */
  windowBlocks?: number;
  /** Requests in flight at once (default 8). */
  concurrency?: number;
  nowMs: number;
}

/**
 * Reads one snapshot of the network behind `fetchers`.
 * @throws RiskError `UNREACHABLE` when the node cannot be reached, `BAD_RESPONSE` when it answers
 *   something that is not the API.
 * @example const snapshot = await collectSnapshot(httpFetchers(url), { url, nowMs: Date.now() });
 */
export async function collectSnapshot(
  fetchers: RiskFetchers,
  options: CollectOptions,
): Promise<NetworkSnapshot> {
  const windowBlocks = options.windowBlocks ?? 100;
  if (!Number.isSafeInteger(windowBlocks) || windowBlocks < 1 || windowBlocks > WINDOW_BLOCKS_MAX)
    throw new RiskError(
      'INVALID_OPTION',
      `the window must be 1 to ${WINDOW_BLOCKS_MAX} blocks`,
      'windowBlocks',
    );
  const status = objectOf(await required(fetchers, '/v1/status'), 'status');
  const networkAnswer = await getJson(fetchers, '/v1/network');
  const network = networkFrom(
    status,
    networkAnswer.status === 200 ? objectOf(networkAnswer.body, 'network') : undefined,
  );
  const keyIndex = new Map(
    network.validators.map((v) => [v.publicKey.replace(/^0x/, '').toLowerCase(), v.index]),
  );
  const height = numberOf(status.height, 'status.height');
  const keys = network.validators.map((v) => v.publicKey);
  const verifier = fetchers.verifyFinality?.bind(fetchers);
  const verify =
    verifier === undefined ? undefined : (block: unknown) => verifier(block, keys, network.chainId);
  const heights: number[] = [];
  for (let h = Math.max(1, height - windowBlocks + 1); h <= height; h++) heights.push(h);
  const blocks: BlockSample[] = [];
  const concurrency = Math.max(1, Math.min(options.concurrency ?? 8, 32));
  for (let i = 0; i < heights.length; i += concurrency) {
    const answers = await Promise.all(
      heights.slice(i, i + concurrency).map((h) => getJson(fetchers, `/v1/blocks/${h}`)),
    );
    // The newest heights may wait for a certified descendant (BLOCK_NOT_FOUND): skipped.
    for (const answer of answers)
      if (answer.status === 200) blocks.push(blockFrom(answer.body, keyIndex, verify));
  }
  const pricesBody = objectOf(await required(fetchers, '/v1/oracle/prices'), 'prices');
  const prices = arrayOf(pricesBody.prices, 'prices.prices', 256).map((entry, i) => {
    const p = objectOf(entry, `prices[${i}]`);
    return {
      assetId: numberOf(p.assetId, `prices[${i}].assetId`),
      symbol: stringOf(p.symbol, `prices[${i}].symbol`),
      price: bigintOf(p.price, `prices[${i}].price`),
      confidence: bigintOf(p.confidence, `prices[${i}].confidence`),
      publishTimeMs: numberOf(p.publishTimeMs, `prices[${i}].publishTimeMs`),
      stale: p.stale === true,
      height: numberOf(p.height, `prices[${i}].height`),
    };
  });
  const certificatesBody = objectOf(await required(fetchers, '/v1/oracle/certificates'), 'certificates');
  const keysetBody = certificatesBody.keyset === null ? null : objectOf(certificatesBody.keyset, 'keyset');
  const certificates = arrayOf(certificatesBody.certificates, 'certificates.certificates', 256).map(
    (entry, i) => {
      const c = objectOf(entry, `certificates[${i}]`);
      const certificate = objectOf(c.certificate, `certificates[${i}].certificate`);
      return {
        assetId: numberOf(c.assetId, `certificates[${i}].assetId`),
        symbol: stringOf(c.symbol, `certificates[${i}].symbol`),
        height: numberOf(c.height, `certificates[${i}].height`),
        epoch: numberOf(certificate.epoch, `certificates[${i}].certificate.epoch`),
        publishTimeMs: numberOf(certificate.publishTime, `certificates[${i}].certificate.publishTime`) * 1000,
      };
    },
  );
  const findingsAnswer = await getJson(fetchers, '/v1/findings?limit=500');
  const findings =
    findingsAnswer.status !== 200
      ? null
      : arrayOf(objectOf(findingsAnswer.body, 'findings').findings, 'findings.findings', 500).map(
          (entry, i) => {
            const f = objectOf(entry, `findings[${i}]`);
            const metadata = objectOf(f.metadata ?? {}, `findings[${i}].metadata`);
            return {
              alertId: stringOf(f.alertId, `findings[${i}].alertId`),
              severity: stringOf(f.severity, `findings[${i}].severity`),
              type: stringOf(f.type, `findings[${i}].type`),
              addresses: arrayOf(f.addresses, `findings[${i}].addresses`, 64).map((a, j) =>
                stringOf(a, `findings[${i}].addresses[${j}]`),
              ),
              metadata: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, String(v)])),
              height: numberOf(f.height, `findings[${i}].height`),
              timeMs: numberOf(f.timeMs, `findings[${i}].timeMs`),
            };
          },
        );
  const evidenceAnswer = await getJson(fetchers, '/v1/evidence');
  const evidenceCount =
    evidenceAnswer.status === 200
      ? arrayOf(objectOf(evidenceAnswer.body, 'evidence').evidence, 'evidence.evidence').length
      : null;
  let metricsText = '';
  try {
    const metrics = await fetchers.fetchText('/metrics');
    if (metrics.status === 200) metricsText = metrics.text;
  } catch {
    // A node without metrics still has block times; the histogram figures are then absent.
  }
  return {
    url: options.url,
    takenAtMs: options.nowMs,
    height,
    view: numberOf(status.view, 'status.view'),
    nodeTimeMs: numberOf(status.timeMs, 'status.timeMs'),
    network,
    blocks,
    prices,
    keyset:
      keysetBody === null
        ? null
        : {
            epoch: numberOf(keysetBody.epoch, 'keyset.epoch'),
            threshold: numberOf(keysetBody.threshold, 'keyset.threshold'),
            participants: numberOf(keysetBody.participants, 'keyset.participants'),
          },
    certificates,
    findings,
    evidenceCount,
    finalityHistogram: histogramBuckets(metricsText, 'palisade_finality_latency_seconds'),
  };
}
