/**
 * The `certificate-liveness` invariant of a whole-node run: with at most f faulty validators
 * (crashed, withholding their signature shares, lying about prices, or Byzantine in consensus),
 * price certificates keep coming after the heal, and each one verifies against the group key.
 *
 * Precisely, at the end of a run that met the consensus liveness target:
 *   - every honest validator holds the price keyset, and all hold the same group key;
 *   - every report an honest validator opened a signing session for at a height after the heal
 *     (and up to the liveness target) has a certificate announced on the network that verifies
 *     against that group key (src/interop/price-certificate.ts `verifyPriceCertificate`, the check
 *     a consumer makes) and certifies the price the finalized block aggregated;
 *   - at least one report was opened after the heal (a run in which nobody signs proves nothing);
 *   - no honest validator announced a certificate that does not verify.
 * The harness gives the sessions a grace period after the target (one session timeout) to end.
 */
import { CertificateAnnouncementCodec } from '../codec/node.ts';
import { toHex } from '../crypto/bytes.ts';
import {
  type CertificateDomain,
  decodePriceCertificate,
  verifyPriceCertificate,
} from '../interop/price-certificate.ts';
import type { SimOpenedReport } from './whole-node.ts';

/** Distinct encodings kept per (asset, height): a Byzantine sender may announce junk beside the real one. */
const MAX_ENCODINGS_PER_REPORT = 4;

interface Announced {
  from: number;
  encoded: Uint8Array;
}

/** One honest validator as the invariant sees it at the end. */
export interface CertificateWitness {
  index: number;
  keyset: { epoch: number; groupPublicKey: Uint8Array } | undefined;
  dkg: string;
  opened: readonly SimOpenedReport[];
}

export interface CertificateSummary {
  /** Reports honest validators opened after the heal (up to the target), and how many are certified. */
  opened: number;
  certified: number;
  /** Distinct (asset, height) certificates announced during the whole run. */
  announced: number;
}

export class CertificateLiveness {
  readonly #domain: CertificateDomain;
  readonly #honest: ReadonlySet<number>;
  readonly #fail: (invariant: string, detail: string) => void;
  readonly #announced = new Map<string, Announced[]>();
  /** The same announcements by what they certify: asset, price, confidence and publish second. */
  readonly #byReport = new Map<string, Announced[]>();
  readonly #verdicts = new Map<string, boolean>();

  constructor(
    domain: CertificateDomain,
    honest: ReadonlySet<number>,
    fail: (invariant: string, detail: string) => void,
  ) {
    this.#domain = domain;
    this.#honest = honest;
    this.#fail = fail;
  }

  /** A price-signing message validator `from` sent; announcements are kept. */
  sent(from: number, message: Uint8Array): void {
    if (message.length < 3 || ((message[1]! << 8) | message[2]!) !== CertificateAnnouncementCodec.tag) return;
    let announcement: ReturnType<typeof CertificateAnnouncementCodec.decode>;
    try {
      announcement = CertificateAnnouncementCodec.decode(message);
    } catch {
      return;
    }
    const key = `${announcement.assetId}/${announcement.height}`;
    const list = this.#announced.get(key) ?? [];
    const encoded = Uint8Array.from(announcement.certificate);
    const hex = toHex(encoded);
    if (list.some((entry) => toHex(entry.encoded) === hex) || list.length >= MAX_ENCODINGS_PER_REPORT) return;
    list.push({ from, encoded });
    this.#announced.set(key, list);
    let content: string;
    try {
      const { report } = decodePriceCertificate(encoded);
      content = `${announcement.assetId}/${report.price}/${report.confidence}/${report.publishTime}`;
    } catch {
      return;
    }
    const same = this.#byReport.get(content) ?? [];
    if (same.length < MAX_ENCODINGS_PER_REPORT) same.push({ from, encoded });
    this.#byReport.set(content, same);
  }

  /** Announcements that may certify `report`: for its height, or for an equal report at another height. */
  #candidates(report: SimOpenedReport): Announced[] {
    return [
      ...(this.#announced.get(`${report.assetId}/${report.height}`) ?? []),
      ...(this.#byReport.get(
        `${report.assetId}/${report.priceTicks}/${report.confidenceTicks}/${report.publishTime}`,
      ) ?? []),
    ];
  }

  /** Whether a certificate for `report` verifies under `groupPublicKey` and certifies its price. */
  #certified(report: SimOpenedReport, keyset: { epoch: number; groupPublicKey: Uint8Array }): boolean {
    for (const entry of this.#candidates(report))
      if (this.#verifies(entry.encoded, keyset, report.priceTicks)) return true;
    return false;
  }

  #verifies(encoded: Uint8Array, keyset: { groupPublicKey: Uint8Array }, priceTicks?: bigint): boolean {
    const memo = `${toHex(keyset.groupPublicKey)}/${toHex(encoded)}`;
    let verdict = this.#verdicts.get(memo);
    if (verdict === undefined) {
      try {
        const certificate = decodePriceCertificate(encoded);
        verdict =
          certificate.domain.chainId === this.#domain.chainId &&
          toHex(certificate.domain.verifyingContract) === toHex(this.#domain.verifyingContract) &&
          // Refresh keeps the group key; the epoch a certificate names is the signing keyset's.
          verifyPriceCertificate(certificate, {
            epoch: certificate.report.epoch,
            groupPublicKey: keyset.groupPublicKey,
          });
      } catch {
        verdict = false;
      }
      this.#verdicts.set(memo, verdict);
    }
    if (!verdict || priceTicks === undefined) return verdict;
    return decodePriceCertificate(encoded).report.price === priceTicks;
  }

  /** Reports opened in (afterHeight, toHeight] that have no announcement yet (cheap: no verification). */
  outstanding(witnesses: readonly CertificateWitness[], afterHeight: number, toHeight: number): number {
    let count = 0;
    for (const witness of witnesses)
      for (const report of witness.opened)
        if (report.height > afterHeight && report.height <= toHeight && this.#candidates(report).length === 0)
          count++;
    return count;
  }

  /** Judges the run (see the header); `waitedMs` is how long sessions had after the target. */
  finish(
    witnesses: readonly CertificateWitness[],
    afterHeight: number,
    toHeight: number,
    waitedMs: number,
  ): CertificateSummary {
    const summary: CertificateSummary = { opened: 0, certified: 0, announced: this.#announced.size };
    const holders = witnesses.filter((witness) => witness.keyset !== undefined);
    for (const witness of witnesses)
      if (witness.keyset === undefined)
        this.#fail(
          'certificate-liveness',
          `validator ${witness.index} holds no price keyset at the end (DKG ${witness.dkg})`,
        );
    const groupKeys = new Set(holders.map((witness) => toHex(witness.keyset!.groupPublicKey)));
    if (groupKeys.size > 1)
      this.#fail(
        'certificate-liveness',
        `honest validators hold ${groupKeys.size} different group keys: ${holders.map((w) => `${w.index}:${toHex(w.keyset!.groupPublicKey).slice(0, 12)}`).join(' ')}`,
      );
    const keyset = holders[0]?.keyset;
    if (keyset === undefined) return summary;
    for (const witness of witnesses)
      for (const report of witness.opened) {
        if (report.height <= afterHeight || report.height > toHeight) continue;
        summary.opened++;
        if (this.#certified(report, keyset)) summary.certified++;
        else
          this.#fail(
            'certificate-liveness',
            `the report of asset ${report.assetId} at height ${report.height}, opened by validator ${witness.index}, has no certificate that verifies against the group key ${waitedMs} ms after the target`,
          );
      }
    if (summary.opened === 0)
      this.#fail(
        'certificate-liveness',
        `no report was opened for signing after the heal (height ${afterHeight})`,
      );
    for (const [key, list] of this.#announced)
      for (const entry of list)
        if (this.#honest.has(entry.from) && !this.#verifies(entry.encoded, keyset))
          this.#fail(
            'certificate-liveness',
            `honest validator ${entry.from} announced a certificate for ${key} that does not verify`,
          );
    return summary;
  }
}
