/**
 * The bridge's withdrawal entries of the red-team catalogue (src/sim/redteam/vault.ts) against the
 * committed verifier and vault: each is refused for the reason the contracts give, and a vault
 * deployed without its rate limit (the injected bug) turns the drain entry into `succeeded` with
 * the loss named — so the entry can see what the token bucket prevents.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCatalogue } from '../../src/sim/redteam/catalogue.ts';
import { drainHeldByRateLimit, NO_RATE_LIMIT } from '../../src/sim/redteam/vault.ts';

const VAULT_ENTRIES = {
  'withdrawal-replayed': ['AlreadyClaimed', 'CheckpointKnown', 'InvalidProof', 'BadCertificate'],
  'withdrawal-proof-for-another-root': ['InvalidProof', 'UnknownCheckpoint'],
  'nomad-2022-vault': ['ZeroRoot', 'UnknownCheckpoint'],
  'ronin-harmony-fake-checkpoint': ['NOT_ENOUGH_SIGNERS', 'BadCertificate', 'BadSignature'],
  'wormhole-2022-vault': ['BadCertificate'],
  'vault-drain-held': ['RateLimited', 'StillDelayed', 'NotQueued', 'SubjectCursed'],
  'old-keyset-after-handover': ['BadCertificate', 'NotActiveKeyset'],
} as const;

test('the withdrawal attacks are refused by the vault for the reasons it gives, and the genuine withdrawal is paid', async () => {
  const results = await runCatalogue({ only: Object.keys(VAULT_ENTRIES) });
  assert.deepEqual(results.map((r) => r.id).sort(), Object.keys(VAULT_ENTRIES).sort());
  for (const result of results) {
    assert.equal(result.verdict, 'refused', `${result.id}: ${result.summary}`);
    assert.equal(result.target, 'bridge');
    const statuses = result.evidence.statuses.join('\n');
    for (const reason of VAULT_ENTRIES[result.id as keyof typeof VAULT_ENTRIES])
      assert.match(statuses, new RegExp(reason), `${result.id} never refused with ${reason}:\n${statuses}`);
    // The control: a vault that refused everything would prove nothing.
    assert.ok(
      result.evidence.facts.some(
        (fact) => fact === "control: alice's genuine withdrawal paid exactly once: true",
      ),
      result.id,
    );
  }
});

test('injected bug: a vault without its rate limit and delay lets a stolen keyset drain it, and the entry names the loss', async () => {
  const held = await drainHeldByRateLimit();
  assert.equal(held.verdict, 'refused', held.summary);
  const drained = await drainHeldByRateLimit(NO_RATE_LIMIT);
  assert.equal(drained.verdict, 'succeeded', drained.summary);
  // Twenty 1,000 pUSD claims and the 50,000 one paid at once, less the bucket the limits allow.
  assert.ok(drained.loss > 50_000n * 1_000_000n, `loss ${drained.loss}`);
  assert.match(drained.summary, /beyond what it was owed/);
});
