/**
 * A finding: what one detector concluded from what the layers emitted, in the shape Forta's
 * detection bots use (`alertId`, `name`, `description`, `severity`, `type`, `metadata`, the
 * addresses involved), plus where on the chain it was seen (`height`, `timeMs`).
 *
 * Findings are plain JSON: every metadata value is a string (bigints as decimal strings), so a
 * finding serializes the same way to the API, the stream and a webhook. They are bounded (a finding
 * carries at most `METADATA_ENTRIES_MAX` metadata entries and `ADDRESSES_MAX` addresses, each of
 * bounded length) so that an attacker who can make a detector fire cannot make it allocate.
 *
 * `id` is a digest of the alert id, the height and the detector's key for the occurrence: the same
 * occurrence seen twice (a restart, a retried webhook) has the same id, so receivers deduplicate
 * on it.
 */
import { toHex } from '../crypto/bytes.ts';
import { sha256 } from '../crypto/hash.ts';

export const SEVERITIES = Object.freeze(['Info', 'Low', 'Medium', 'High', 'Critical'] as const);
export type Severity = (typeof SEVERITIES)[number];

export const FINDING_TYPES = Object.freeze(['Exploit', 'Suspicious', 'Degraded', 'Info'] as const);
export type FindingType = (typeof FINDING_TYPES)[number];

export const METADATA_ENTRIES_MAX = 16;
export const METADATA_VALUE_LENGTH_MAX = 256;
export const ADDRESSES_MAX = 16;
export const DESCRIPTION_LENGTH_MAX = 512;
/** Alert ids are upper-case words joined by dashes, e.g. `PALISADE-EQUIVOCATION`. */
export const ALERT_ID_PATTERN = /^[A-Z][A-Z0-9]*(-[A-Z0-9]+){0,7}$/;
/** An account (0x + 64 hex), a validator (`validator:<index>`) or an oracle source (`source:<id>`). */
export const ADDRESS_PATTERN = /^(0x[0-9a-f]{64}|validator:[0-9]{1,4}|source:[A-Za-z0-9._-]{1,64})$/;

export interface Finding {
  /** 0x + hex SHA-256 of the alert id, the height and the occurrence key: stable across restarts. */
  id: string;
  alertId: string;
  name: string;
  description: string;
  severity: Severity;
  type: FindingType;
  metadata: Record<string, string>;
  /** Accounts, validators and sources involved, sorted and without duplicates. */
  addresses: string[];
  /** The last finalized height when the finding was made. */
  height: number;
  /** Block time (ms since the Unix epoch) for block findings, the node's wall clock for the others. */
  timeMs: number;
}

export type MonitorErrorCode = 'INVALID_FINDING' | 'INVALID_CONFIG' | 'INVALID_QUERY';

/** A detector produced a malformed finding, or a configuration or query is out of range. */
export class MonitorError extends Error {
  override readonly name = 'MonitorError';
  readonly code: MonitorErrorCode;
  readonly field: string;
  /** What is wrong with `field`, without its name. */
  readonly detail: string;
  constructor(code: MonitorErrorCode, field: string, detail: string) {
    super(`${field}: ${detail}`);
    this.code = code;
    this.field = field;
    this.detail = detail;
  }
}

export interface FindingParameters {
  alertId: string;
  name: string;
  description: string;
  severity: Severity;
  type: FindingType;
  /** Values are stringified: bigints and numbers as decimals. */
  metadata?: Readonly<Record<string, string | number | bigint | boolean>>;
  addresses?: readonly string[];
  height: number;
  timeMs: number;
  /** What makes this occurrence distinct from others of the same alert at the same height. */
  key?: string;
}

const textEncoder = new TextEncoder();

/** Severity rank: Info 0 … Critical 4. */
export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

/**
 * Builds a frozen, checked finding.
 * @example createFinding({ alertId: 'PALISADE-SELF-TRADE', name: 'Self-trade', description: '…', severity: 'Low', type: 'Suspicious', height: 7, timeMs: 0 })
 * @throws MonitorError (INVALID_FINDING) naming the field that is out of bounds
 */
export function createFinding(parameters: FindingParameters): Finding {
  const { alertId, name, description, severity, type, height, timeMs } = parameters;
  if (!ALERT_ID_PATTERN.test(alertId)) fail('alertId', 'must look like PALISADE-SOME-ALERT');
  if (name.length === 0 || name.length > 100) fail('name', 'must be 1 to 100 characters');
  if (description.length === 0 || description.length > DESCRIPTION_LENGTH_MAX)
    fail('description', `must be 1 to ${DESCRIPTION_LENGTH_MAX} characters`);
  if (!SEVERITIES.includes(severity)) fail('severity', 'is not a severity');
  if (!FINDING_TYPES.includes(type)) fail('type', 'is not a finding type');
  if (!Number.isSafeInteger(height) || height < 0) fail('height', 'must be a non-negative integer');
  if (!Number.isSafeInteger(timeMs) || timeMs < 0) fail('timeMs', 'must be a non-negative integer');
  const entries = Object.entries(parameters.metadata ?? {});
  if (entries.length > METADATA_ENTRIES_MAX) fail('metadata', `has over ${METADATA_ENTRIES_MAX} entries`);
  const metadata: Record<string, string> = {};
  for (const [key, value] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!/^[A-Za-z][A-Za-z0-9_]{0,39}$/.test(key)) fail(`metadata/${key}`, 'is not a metadata key');
    const text = String(value);
    if (text.length > METADATA_VALUE_LENGTH_MAX)
      fail(`metadata/${key}`, `is over ${METADATA_VALUE_LENGTH_MAX} characters`);
    metadata[key] = text;
  }
  const addresses = [...new Set(parameters.addresses ?? [])].sort();
  if (addresses.length > ADDRESSES_MAX) fail('addresses', `has over ${ADDRESSES_MAX} entries`);
  for (const address of addresses) {
    if (!ADDRESS_PATTERN.test(address))
      fail('addresses', `${JSON.stringify(address.slice(0, 80))} is not an address`);
  }
  const key = parameters.key ?? '';
  const id = `0x${toHex(sha256(textEncoder.encode(`${alertId}\n${height}\n${key}`)))}`;
  return Object.freeze({
    id,
    alertId,
    name,
    description,
    severity,
    type,
    metadata: Object.freeze(metadata) as Record<string, string>,
    addresses: Object.freeze(addresses) as string[],
    height,
    timeMs,
  });
}

/** An account key as findings name it: 0x + lower-case hex (the engine's keys come without 0x). */
export function accountAddress(key: string): string {
  const bare = key.startsWith('0x') ? key.slice(2) : key;
  return `0x${bare.toLowerCase()}`;
}

export function validatorAddress(index: number): string {
  return `validator:${index}`;
}

export function sourceAddress(sourceId: string): string {
  return `source:${sourceId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64)}`;
}

function fail(field: string, detail: string): never {
  throw new MonitorError('INVALID_FINDING', field, detail);
}
