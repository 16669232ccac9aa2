/**
 * `palisade redteam`: the red-team catalogue (src/sim/redteam/catalogue.ts) — attacks modelled on
 * real incidents, run against the simulated venue, price certificates and network — printed as a
 * table, or as JSON, with the full evidence written to a report file. With `--url` the entries
 * that can run through the API run against that node instead: the price-certificate forgeries
 * (Wormhole, Nomad, Harmony: the attacker's own 2-of-5 keyset, and the published threshold)
 * against the keyset and certificates it publishes, and an unfunded key's out-of-band order
 * (Mango); every other entry is listed with why it cannot (its `apiLimit`).
 * Exit code 0 when every entry was refused, 1 when any succeeded, 2 on a usage error.
 */
import { writeFileSync } from 'node:fs';
import { encodeAction } from '../../codec/execution.ts';
import { SignedTransactionCodec } from '../../codec/transaction.ts';
import { toHex } from '../../crypto/bytes.ts';
import { createEd25519Signer } from '../../crypto/ed25519.ts';
import { signTransaction } from '../../crypto/transaction.ts';
import { feedIdOf } from '../../interop/price-certificate.ts';
import { CATALOGUE, type EntryResult, formatTable, runCatalogue } from '../../sim/redteam/catalogue.ts';
import { rogueSignature } from '../../sim/redteam/certificates.ts';
import { NO_PRICE_BAND } from '../../sim/whole-node.ts';
import { numberOption, parseOptions, UsageError } from '../args.ts';
import { createClient, verifyPriceCertificate } from '../client.ts';
import { createSimNode } from '../sim-node.ts';
import { priceCertificateFromJson } from '../view.ts';

export const usage = `usage: palisade redteam [--seeds N] [--seed-start S] [--only ID,ID] [--inject no-band] [--json] [--report FILE] [--url URL]

  --seeds       seeds per entry (default 1; a nightly-sized run: --seeds 20)
  --seed-start  first seed (default 1)
  --only        run only these entries: ${CATALOGUE.map((entry) => entry.id).join(', ')}
  --inject      no-band: run the venue entries with a genesis whose price band is disabled
                (priceBandBps and priceBandMinTicks 10^9) — a bug the catalogue must catch
  --json        print one JSON document (verdicts and evidence) instead of the table
  --report      write the full evidence as JSON to FILE
  --url         run the entries that work through the API against the node at URL`;

const MAX_SEEDS = 10_000;
/** The injected bug of `--inject no-band`: no limit is ever outside a band this wide. */
export const NO_BAND = NO_PRICE_BAND;

export async function run(args: string[]): Promise<number> {
  const { values } = parseOptions(args, {
    seeds: { type: 'string' },
    'seed-start': { type: 'string' },
    only: { type: 'string' },
    inject: { type: 'string' },
    json: { type: 'boolean' },
    report: { type: 'string' },
    url: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help === true) {
    console.log(usage);
    return 0;
  }
  const seeds = integer('seeds', values.seeds, 1, 1, MAX_SEEDS);
  const seedStart = integer('seed-start', values['seed-start'], 1, 0, Number.MAX_SAFE_INTEGER - MAX_SEEDS);
  const only = typeof values.only === 'string' ? values.only.split(',').filter((id) => id !== '') : undefined;
  for (const id of only ?? [])
    if (!CATALOGUE.some((entry) => entry.id === id)) throw new UsageError(`unknown entry '${id}'`);
  if (values.inject !== undefined && values.inject !== 'no-band')
    throw new UsageError(`unknown --inject '${values.inject}' (one of: no-band)`);
  const params = values.inject === 'no-band' ? NO_BAND : undefined;
  // --report and --url are string options: parseOptions refuses them without a value.
  const startedMs = performance.now();
  const results =
    typeof values.url === 'string'
      ? await againstNode(values.url)
      : await runCatalogue({ seeds, seedStart, only, params, node: createSimNode });
  // Through the API, the entries it cannot reach are named with why.
  const notThroughApi =
    typeof values.url === 'string'
      ? CATALOGUE.filter((entry) => entry.apiLimit !== undefined).map((entry) => ({
          id: entry.id,
          why: entry.apiLimit!,
        }))
      : undefined;
  const elapsedMs = performance.now() - startedMs;
  const refused = results.filter((result) => result.verdict === 'refused').length;
  const document = {
    target: typeof values.url === 'string' ? values.url : 'simulated',
    injected: params === undefined ? null : 'no-band',
    entries: new Set(results.map((result) => result.id)).size,
    runs: results.length,
    refused,
    succeeded: results.length - refused,
    elapsedMs: Math.round(elapsedMs),
    ...(notThroughApi === undefined ? {} : { notThroughApi }),
    results,
  };
  if (typeof values.report === 'string')
    writeFileSync(values.report, `${JSON.stringify(document, null, 2)}\n`);
  if (values.json === true)
    console.log(
      JSON.stringify(
        { ...document, results: results.map(({ evidence: _evidence, ...rest }) => rest) },
        null,
        2,
      ),
    );
  else {
    console.log(formatTable(results));
    if (notThroughApi !== undefined) {
      console.log(`\nnot run through the API (${notThroughApi.length}; the simulated catalogue runs them):`);
      for (const entry of notThroughApi) console.log(`  ${entry.id.padEnd(30)} ${entry.why}`);
    }
  }
  return refused === results.length ? 0 : 1;
}

function integer(
  name: string,
  value: string | boolean | undefined,
  fallback: number,
  min: number,
  max: number,
) {
  if (value === undefined) return fallback;
  const parsed = numberOption(name, value);
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max)
    throw new UsageError(`--${name} must be an integer in ${min}..${max}`);
  return parsed;
}

function empty(statuses: string[], facts: string[]): EntryResult['evidence'] {
  return {
    statuses,
    events: {},
    notable: [],
    balancesBefore: {},
    balancesAfter: {},
    insuranceFund: { before: '0', after: '0' },
    socializedLoss: '0',
    facts,
  };
}

/** The API-reachable entries against a running node. */
async function againstNode(url: string): Promise<EntryResult[]> {
  const client = createClient({ url });
  const status = await client.status();
  const results: EntryResult[] = [];
  const { keyset, certificates } = await client.certificates();
  const entry = certificates[certificates.length - 1];
  const base = (id: string) => {
    const known = CATALOGUE.find((candidate) => candidate.id === id)!;
    return { id, incident: known.incident, target: known.target, adaptation: known.adaptation, seed: 0 };
  };
  if (keyset === null || entry === undefined) {
    for (const id of ['wormhole-2022', 'nomad-2022', 'harmony-2022'])
      results.push({
        ...base(id),
        verdict: 'succeeded',
        loss: '0.000000',
        summary: 'the node publishes no keyset or certificate to attack: nothing proves its prices',
        evidence: empty(
          [],
          [
            `GET /v1/oracle/certificates: keyset ${keyset === null ? 'none' : 'present'}, ${certificates.length} certificates`,
          ],
        ),
        ms: 0,
      });
  } else {
    const certificate = entry.certificate;
    const judge = (id: string, attempts: Record<string, typeof certificate>, keys = keyset) => {
      const statuses: string[] = [];
      let accepted = 0;
      for (const [name, forged] of Object.entries(attempts)) {
        const ok = verifyPriceCertificate({ certificate: forged }, keys);
        if (ok) accepted++;
        statuses.push(`${name} → ${ok ? 'ACCEPTED' : 'refused'}`);
      }
      const control = verifyPriceCertificate(entry, keyset);
      results.push({
        ...base(id),
        verdict: accepted === 0 && control ? 'refused' : 'succeeded',
        loss: '0.000000',
        summary:
          accepted > 0
            ? `${accepted} forged certificate(s) verified under the node's keyset`
            : control
              ? "no forgery verifies under the node's published keyset"
              : "the node's own latest certificate does not verify",
        evidence: empty(statuses, [
          `keyset epoch ${keyset.epoch}, threshold ${keyset.threshold} of ${keyset.participants}`,
          `control: the latest certificate (${entry.symbol} at height ${entry.height}) verifies: ${control}`,
        ]),
        ms: 0,
      });
    };
    judge('wormhole-2022', {
      'its signature on a report priced at 1': { ...certificate, price: '1' },
      'its epoch edited': { ...certificate, epoch: certificate.epoch + 1 },
      'another chain id': { ...certificate, chainId: certificate.chainId + 1 },
      'random signature bytes': { ...certificate, signature: `0x${'5a'.repeat(65)}` },
    });
    judge('nomad-2022', {
      'an all-zero signature': { ...certificate, signature: `0x${'00'.repeat(65)}` },
    });
    // Harmony: the attacker's own 2-of-5 keyset signs the node's domain and epoch; and the
    // published keyset must ask for the consensus quorum, 2f + 1 of its participants.
    const value = priceCertificateFromJson(certificate);
    const domain = { chainId: value.chainId, verifyingContract: value.verifyingContract };
    const rogue = (price: bigint, symbol?: string) =>
      `0x${toHex(
        rogueSignature(
          {
            feedId: symbol === undefined ? value.feedId : feedIdOf(symbol),
            price,
            confidence: value.confidence,
            exponent: value.exponent | 0,
            publishTime: value.publishTime,
            epoch: value.epoch,
          },
          domain,
        ),
      )}`;
    const before = results.length;
    judge('harmony-2022', {
      "a report priced at 1 signed by the attacker's 2-of-5 keyset": {
        ...certificate,
        price: '1',
        signature: rogue(1n),
      },
      "the node's own report re-signed by a 2-of-5 keyset": { ...certificate, signature: rogue(value.price) },
    });
    const quorum = keyset.participants - Math.floor((keyset.participants - 1) / 3);
    const harmony = results[before]!;
    harmony.evidence.statuses.push(
      `published threshold ${keyset.threshold} of ${keyset.participants}: ${keyset.threshold >= quorum ? 'at least' : 'BELOW'} the quorum ${quorum}`,
    );
    if (keyset.threshold < quorum) {
      harmony.verdict = 'succeeded';
      harmony.summary = `the node's keyset asks for ${keyset.threshold} of ${keyset.participants} shares, below the quorum ${quorum}: that many stolen keys sign anything`;
    }
  }
  // Mango through the API: a key nobody funded places an order at 5,000× the mark.
  const markets = await client.markets();
  const market = markets.find(
    (candidate) => candidate.markPrice !== undefined && candidate.markPrice !== null,
  );
  if (market !== undefined) {
    const stranger = createEd25519Signer(new Uint8Array(32).fill(0x5a));
    const priceTicks = Math.max(1, Math.round((Number(market.markPrice) / Number(market.tickSize)) * 5000));
    const transaction = signTransaction(stranger, {
      chainId: status.chainId,
      nonce: 0,
      expiryHeight: status.height + 100,
      payload: encodeAction({
        kind: 'placeOrder',
        value: {
          seriesId: market.seriesId,
          side: 0,
          kind: 0,
          timeInForce: 0,
          postOnly: false,
          reduceOnly: false,
          price: priceTicks * Number(market.tickSize),
          sizeE6: Number(market.lotSizeE6),
          clientOrderId: 0,
        },
      }),
    });
    let outcome: string;
    let refused = true;
    try {
      const { id } = await client.submitTransaction(SignedTransactionCodec.encode(transaction));
      const result = await client.waitForTransaction(id, { timeoutMs: 10_000 });
      outcome = `finalized with status ${result.status}`;
      refused = result.status !== 'OK';
    } catch (error) {
      outcome = `refused at submission: ${(error as Error).message}`;
    }
    results.push({
      ...base('mango-2022'),
      verdict: refused ? 'refused' : 'succeeded',
      loss: '0.000000',
      summary: refused
        ? 'an unfunded key’s order at 5,000× the mark is refused (the funded-account variants need the simulated venue)'
        : 'an unfunded key placed an order at 5,000× the mark',
      evidence: empty([`order on series ${market.seriesId} at ${priceTicks} ticks → ${outcome}`], []),
      ms: 0,
    });
  }
  return results;
}
