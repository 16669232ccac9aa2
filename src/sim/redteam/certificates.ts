/**
 * Bridge-key incidents replayed against Palisade's price certificates (src/interop/
 * price-certificate.ts): a consumer's keyset registry — what a light client or the EVM verifier
 * keeps — must accept a certificate only when a quorum of the validators' FROST shares signed that
 * report, for that domain and that epoch. The keyset is the one the validators' genesis asks for:
 * n validators, threshold the consensus quorum 2f + 1 (src/node/genesis.ts). Each attack forges
 * a report worth stealing with (BTC at 1 USD) and the entry `succeeded` if any forgery verifies —
 * or if the genuine control certificate does not (a verifier that refuses everything proves nothing).
 */
import { runLocalDkg } from '../../crypto/dkg.ts';
import { type FrostKeyPackage, frostCommit, frostSignShare } from '../../crypto/frost.ts';
import {
  assemblePriceCertificate,
  type CertificateDomain,
  createKeysetRegistry,
  encodePriceCertificate,
  feedIdOf,
  type KeysetRegistry,
  type PriceCertificate,
  type PriceReport,
  priceReportDigest,
} from '../../interop/price-certificate.ts';
import type { Evidence, Outcome } from './scenario.ts';

const DOMAIN: CertificateDomain = {
  chainId: 42161,
  verifyingContract: Uint8Array.from({ length: 20 }, (_, i) => 0xa0 + i),
};
const OTHER_DOMAIN: CertificateDomain = { chainId: 1, verifyingContract: DOMAIN.verifyingContract };
const EPOCH = 3;

function report(price: bigint, epoch = EPOCH): PriceReport {
  return {
    feedId: feedIdOf('BTC-USD'),
    price,
    confidence: 1_000_000n,
    exponent: -8,
    publishTime: 1_767_225_600,
    epoch,
  };
}
const FORGED = report(100_000_000n);
const GENUINE = report(6_000_000_000_000n);

/**
 * A certificate of `report` from `signers`' FROST rounds; `honestReport` is what the honest ones
 * among them (those not in `stolen`) sign instead — they sign only what they observed.
 * @throws FrostError as aggregation does for missing or bad shares
 */
function sign(
  keys: readonly FrostKeyPackage[],
  signers: readonly FrostKeyPackage[],
  r: PriceReport,
  options: { domain?: CertificateDomain; honestReport?: PriceReport; stolen?: ReadonlySet<number> } = {},
): PriceCertificate {
  const domain = options.domain ?? DOMAIN;
  const round1 = signers.map((key) => frostCommit(key));
  const commitments = round1.map((entry) => entry.commitment);
  const shares = new Map(
    signers.map((key, i) => {
      const honest = options.stolen !== undefined && !options.stolen.has(key.index);
      const signed = honest && options.honestReport !== undefined ? options.honestReport : r;
      return [
        key.index,
        frostSignShare(key, round1[i]!.nonces, commitments, priceReportDigest(signed, domain)),
      ] as const;
    }),
  );
  return assemblePriceCertificate({ report: r, domain, publicPackage: keys[0]!.public, commitments, shares });
}

/**
 * `report` signed under `domain` by a keyset the attacker dealt itself (Harmony's 2-of-5 by
 * default): what `palisade redteam --url` presents to a node's published keyset.
 */
export function rogueSignature(
  r: PriceReport,
  domain: CertificateDomain,
  participants = 5,
  threshold = 2,
): Uint8Array {
  const keys = runLocalDkg({ chainId: 7, epoch: r.epoch, participants, threshold });
  return sign(keys, keys.slice(0, threshold), r, { domain }).signature;
}

interface Keyset {
  n: number;
  f: number;
  threshold: number;
  keys: FrostKeyPackage[];
  registry: KeysetRegistry;
}

function keyset(n: number, epoch = EPOCH, label = 7): Keyset {
  const f = Math.floor((n - 1) / 3);
  const threshold = 2 * f + 1;
  const keys = runLocalDkg({ chainId: label, epoch, participants: n, threshold });
  const registry = createKeysetRegistry(DOMAIN);
  registry.activate(epoch, keys[0]!.groupPublicKey);
  return { n, f, threshold, keys, registry };
}

type Attempt = () => Uint8Array;

/** Judges attempts against registries, each with its genuine control certificate. */
function judge(
  cases: {
    registry: KeysetRegistry;
    control: Uint8Array;
    label: string;
    attempts: Record<string, Attempt>;
  }[],
  summary: string,
  facts: string[] = [],
): Outcome {
  const statuses: string[] = [];
  let accepted = 0;
  let controlsFailed = 0;
  for (const { registry, control, label, attempts } of cases) {
    const controlVerdict = registry.verify(control);
    facts.push(`${label}: the genuine quorum certificate verifies: ${controlVerdict.ok}`);
    if (!controlVerdict.ok) controlsFailed++;
    for (const [name, attempt] of Object.entries(attempts)) {
      let status: string;
      try {
        const verdict = registry.verify(attempt());
        status = verdict.ok ? 'ACCEPTED' : verdict.reason;
        if (verdict.ok) accepted++;
      } catch (error) {
        status = `refused before the verifier: ${(error as Error).message.slice(0, 140)}`;
      }
      statuses.push(`${label}: ${name} → ${status}`);
    }
  }
  const succeeded = accepted > 0 || controlsFailed > 0;
  const evidence: Evidence = {
    statuses,
    events: {},
    notable: [],
    balancesBefore: {},
    balancesAfter: {},
    insuranceFund: { before: '0', after: '0' },
    socializedLoss: '0',
    facts,
  };
  return {
    verdict: succeeded ? 'succeeded' : 'refused',
    loss: 0n,
    summary: !succeeded
      ? summary
      : accepted > 0
        ? `${accepted} forged certificate(s) verified: a consumer would settle at BTC = 1 USD`
        : 'a genuine certificate did not verify: the verifier refuses everything and proves nothing',
    evidence,
  };
}

const genuineOf = (set: Keyset) =>
  encodePriceCertificate(sign(set.keys, set.keys.slice(0, set.threshold), GENUINE));

/** Ronin, March 2022: 5 of 9 bridge keys stolen. Here f keys stolen, at n = 4 and n = 7. */
export function ronin(): Outcome {
  const cases = [4, 7].map((n) => {
    const set = keyset(n);
    const stolen = set.keys.slice(n - set.f);
    const stolenIds = new Set(stolen.map((key) => key.index));
    const withHonest = [...set.keys.slice(0, set.threshold - set.f), ...stolen];
    return {
      registry: set.registry,
      control: genuineOf(set),
      label: `n=${n}, f=${set.f}, threshold ${set.threshold}`,
      attempts: {
        [`the ${set.f} stolen share(s) alone sign the forged report`]: () =>
          encodePriceCertificate(sign(set.keys, stolen, FORGED)),
        'stolen shares in a session with honest validators, who sign the genuine report': () =>
          encodePriceCertificate(
            sign(set.keys, withHonest, FORGED, { honestReport: GENUINE, stolen: stolenIds }),
          ),
      },
    };
  });
  return judge(
    cases,
    'f stolen shares are below the 2f + 1 threshold: aggregation names the missing or bad shares, and nothing they sign verifies',
  );
}

/**
 * Harmony, June 2022: a 2-of-5 multisig, 2 keys stolen. Palisade's keyset for 5 validators has
 * threshold 3 (2f + 1, f = 1): two stolen shares sign nothing; a 2-of-5 keyset the attacker
 * generates itself is not the registry's; and the registry never takes a new keyset's epoch out
 * of order.
 */
export function harmony(): Outcome {
  const set = keyset(5);
  const stolen = set.keys.slice(3);
  const rogue = runLocalDkg({ chainId: 7, epoch: EPOCH, participants: 5, threshold: 2 });
  const facts = [`the genesis keyset for 5 validators: threshold ${set.threshold} of 5`];
  try {
    set.registry.activate(EPOCH, rogue[0]!.groupPublicKey);
    facts.push('the registry took a second keyset at the same epoch');
  } catch (error) {
    facts.push(`re-activating epoch ${EPOCH} with the attacker's 2-of-5 key: ${(error as Error).message}`);
  }
  const outcome = judge(
    [
      {
        registry: set.registry,
        control: genuineOf(set),
        label: 'n=5, threshold 3',
        attempts: {
          'the 2 stolen shares sign the forged report': () =>
            encodePriceCertificate(sign(set.keys, stolen, FORGED)),
          "the attacker's own 2-of-5 keyset signs it (a valid FROST signature under another group key)": () =>
            encodePriceCertificate(sign(rogue, rogue.slice(0, 2), FORGED)),
        },
      },
    ],
    'two of five shares are below the threshold of three, and a keyset the attacker made is not the one the registry holds',
    facts,
  );
  if (set.registry.activeKeyset?.groupPublicKey.toString() !== set.keys[0]!.groupPublicKey.toString())
    return { ...outcome, verdict: 'succeeded', summary: "the registry's keyset was replaced" };
  return outcome;
}

/**
 * Wormhole, February 2022: the verifier was made to accept a signature set nobody produced.
 * Here: a genuine signature moved onto a forged report, random bytes, a signature for another
 * chain's domain, one from a retired epoch, and one with the report's epoch edited.
 */
export function wormhole(): Outcome {
  const old = keyset(4, EPOCH);
  const current = keyset(4, EPOCH + 1, 8);
  const registry = createKeysetRegistry(DOMAIN);
  registry.activate(EPOCH, old.keys[0]!.groupPublicKey);
  const oldGenuine = genuineOf(old);
  registry.activate(EPOCH + 1, current.keys[0]!.groupPublicKey);
  const next = report(6_000_000_000_000n, EPOCH + 1);
  const genuine = sign(current.keys, current.keys.slice(0, 3), next);
  let random = 0x9e3779b9;
  const noise = () => {
    random = (random * 1_103_515_245 + 12_345) >>> 0;
    return random & 0xff;
  };
  return judge(
    [
      {
        registry,
        control: encodePriceCertificate(genuine),
        label: 'n=4, epoch 4 active after a handover from epoch 3',
        attempts: {
          'a genuine signature moved onto the forged report': () =>
            encodePriceCertificate({ ...genuine, report: { ...next, price: FORGED.price } }),
          'random signature bytes': () =>
            encodePriceCertificate({ ...genuine, signature: Uint8Array.from({ length: 65 }, noise) }),
          "a quorum certificate for another chain's domain": () =>
            encodePriceCertificate(
              sign(current.keys, current.keys.slice(0, 3), next, { domain: OTHER_DOMAIN }),
            ),
          'a genuine certificate of the retired epoch 3': () => oldGenuine,
          'the retired certificate with its epoch edited to 4': () => {
            const signed = sign(old.keys, old.keys.slice(0, 3), GENUINE);
            return encodePriceCertificate({ ...signed, report: { ...signed.report, epoch: EPOCH + 1 } });
          },
        },
      },
    ],
    'every signature is checked over the full EIP-712 digest (report, domain, epoch) under the active group key',
  );
}

/**
 * Nomad, August 2022: an upgrade initialised the trusted root to zero, and zero then "proved"
 * any message. Here: a registry with no keyset, an all-zero group key, an all-zero signature, a
 * signature whose nonce point is the identity.
 */
export function nomad(): Outcome {
  const set = keyset(4);
  const facts: string[] = [];
  const empty = createKeysetRegistry(DOMAIN);
  try {
    createKeysetRegistry(DOMAIN).activate(EPOCH + 1, new Uint8Array(33));
    facts.push('an all-zero group key was activated');
  } catch (error) {
    facts.push(`activating an all-zero group key: ${(error as Error).message}`);
  }
  const zeroKeyed = createKeysetRegistry(DOMAIN);
  let zeroActivated = false;
  try {
    zeroKeyed.activate(EPOCH, new Uint8Array(33));
    zeroActivated = true;
  } catch {
    // Refused at activation; the verify attempts below still run against the real keyset.
  }
  const genuine = sign(set.keys, set.keys.slice(0, 3), GENUINE);
  const zeroSignature = () =>
    encodePriceCertificate({ ...genuine, report: FORGED, signature: new Uint8Array(65) });
  const identityNonce = () => {
    const signature = new Uint8Array(65);
    signature[0] = 0x02;
    return encodePriceCertificate({ ...genuine, report: FORGED, signature });
  };
  const cases = [
    {
      registry: set.registry,
      control: encodePriceCertificate(genuine),
      label: 'n=4 keyset',
      attempts: {
        'an all-zero signature': zeroSignature,
        'a zero nonce point and zero scalar': identityNonce,
      },
    },
  ];
  const outcome = judge(
    cases,
    'no keyset proves nothing, and zero keys or signatures are not points that verify',
    facts,
  );
  const emptyVerdict = empty.verify(zeroSignature());
  outcome.evidence.statuses.push(
    `a registry with no keyset: an all-zero signature → ${emptyVerdict.ok ? 'ACCEPTED' : emptyVerdict.reason}`,
  );
  if (zeroActivated) {
    const verdict = zeroKeyed.verify(zeroSignature());
    outcome.evidence.statuses.push(
      `a registry keyed with zeros: an all-zero signature → ${verdict.ok ? 'ACCEPTED' : verdict.reason}`,
    );
    if (verdict.ok)
      return { ...outcome, verdict: 'succeeded', summary: 'a zero key accepted a zero signature' };
  }
  if (emptyVerdict.ok)
    return { ...outcome, verdict: 'succeeded', summary: 'a registry with no keyset accepted' };
  return outcome;
}
