/**
 * `palisade risk` and `palisade conformance` against a real devnet (four `palisade node`
 * processes), then with one validator killed: the liveness margin falls from one to zero, the
 * killed validator's leader views are nullified, its observations stop, and the liveness control
 * fails. Then it comes back seeing one oracle source stuck (the config's `oracle.stuckSources`
 * drill): that source's status turns `stuck` and its uptime falls, the other sources stay
 * healthy. The devnet is made as an operator would declare a dispersed network (`palisade devnet
 * --validator-metadata`: four operators, jurisdictions, hosts and custodians; on this machine a
 * declaration, which is all the dispersion controls can read) with palisade genesis's default
 * 3-of-5 governance, so healthy it passes every automatically checked control; killed, exactly the
 * liveness control fails. (A weakened genesis — one governance key, a threshold below 2f + 1,
 * undeclared or concentrated operators — fails the controls that say so in
 * src/node/commands/conformance.test.ts.)
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { conformanceOf, loadSpecification } from '../../src/node/commands/conformance.ts';
import { riskReportOf } from '../../src/node/commands/risk.ts';
import { startTestDevnet, type TestDevnet, waitFor } from './harness.ts';

let net: TestDevnet;
before(async () => {
  net = await startTestDevnet({
    validatorMetadata: [0, 1, 2, 3].map((i) => ({
      operator: `operator-${i}`,
      jurisdiction: ['CH', 'SG', 'DE', 'CA'][i]!,
      hosting: ['own-rack', 'hetzner', 'ovh', 'aws'][i]!,
      keyCustody: ['yubihsm', 'ledger', 'aws-kms', 'thales-hsm'][i]!,
    })),
  });
});
after(async () => {
  await net?.close();
});

/**
 * Failing controls other than PDS-CON-05, whose bound (p99 ≤ 5 s, under 10% of views nullified)
 * a loaded two-core test machine with 300 ms leader timeouts may or may not meet.
 */
const failing = (result: Awaited<ReturnType<typeof conformanceOf>>) =>
  result.results.filter((r) => r.status === 'fail' && r.id !== 'PDS-CON-05').map((r) => r.id);
const failures = (result: Awaited<ReturnType<typeof conformanceOf>>) =>
  JSON.stringify(result.results.filter((r) => r.status === 'fail'));

test('one validator killed: the liveness margin drops, nullified views and its oracle downtime show, PDS-CON-04 fails', async () => {
  const spec = loadSpecification();
  const heightOf = async (i: number) => (await net.status(i))?.height ?? -1;
  await waitFor(
    async () => (await heightOf(0)) >= 40,
    'forty finalized blocks (start-up views out of the window)',
    90_000,
  );
  const healthy = await riskReportOf(net.apiUrls[0]!, 20);
  assert.equal(healthy.dispersion.connected.value.validators, 4);
  assert.deepEqual(healthy.dispersion.livenessMargin.value, {
    validators: 1,
    votingPower: 1,
    finalityStopped: false,
  });
  assert.equal(healthy.dispersion.declared, true);
  assert.equal(healthy.dispersion.nakamotoSafety.value, 2);
  const before = await conformanceOf(net.apiUrls[0]!, spec);
  assert.deepEqual(failing(before), [], failures(before));
  assert.ok(
    ['PDS-CON-03', 'PDS-KEY-02', 'PDS-GOV-01'].every(
      (id) => before.results.find((r) => r.id === id)?.status === 'pass',
    ),
    failures(before),
  );

  await net.devnet.supervisor.kill(3, 'SIGKILL');
  const atKill = await heightOf(0);
  await waitFor(
    async () => (await net.status(0))?.validators.find((v) => v.index === 3)?.connected === false,
    'validator 0 to see validator 3 gone',
    30_000,
  );
  await waitFor(
    async () => (await heightOf(0)) >= atKill + 22,
    'twenty-two blocks without validator 3',
    120_000,
  );
  const degraded = await riskReportOf(net.apiUrls[0]!, 20);
  assert.equal(degraded.dispersion.connected.value.validators, 3);
  assert.deepEqual(degraded.dispersion.livenessMargin.value, {
    validators: 0,
    votingPower: 0,
    finalityStopped: false,
  });
  assert.ok(
    (degraded.finality.nullifiedViewShare.value ?? 0) > (healthy.finality.nullifiedViewShare.value ?? 0),
    `nullified ${degraded.finality.nullifiedViewShare.value} > ${healthy.finality.nullifiedViewShare.value}`,
  );
  const uptime = (report: typeof healthy, i: number) =>
    report.oracle.perValidator.value.find((v) => v.validator === i)!.uptime;
  assert.equal(uptime(degraded, 3), 0);
  assert.ok(uptime(healthy, 3) > 0.5, `healthy uptime ${uptime(healthy, 3)}`);
  assert.ok(degraded.premium.components.liveness.lossBps > healthy.premium.components.liveness.lossBps);
  const afterKill = await conformanceOf(net.apiUrls[0]!, spec);
  assert.deepEqual(failing(afterKill), ['PDS-CON-04'], failures(afterKill));

  // One oracle source stuck: validator 3 restarts seeing venue-c frozen at its first price, with a
  // source-health detector tuned to this short test (10 s unchanged while the others moved 1 bp).
  const configPath = net.devnet.network.validators[3]!.config;
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  writeFileSync(
    configPath,
    JSON.stringify({
      ...config,
      oracle: { enabled: true, stuckSources: ['venue-c'] },
      monitor: { thresholds: { oracle: { sourceStuckMs: 10_000, sourceStuckMoveBps: 1 } } },
    }),
  );
  await net.devnet.supervisor.start(3);
  const stuckUrl = net.apiUrls[3]!;
  const sourceOf = (report: typeof healthy, id: string) =>
    report.oracle.perSource.value?.find((s) => s.source === id);
  let stuck = healthy;
  await waitFor(
    async () => {
      stuck = await riskReportOf(stuckUrl, 20);
      return sourceOf(stuck, 'venue-c')?.status === 'stuck';
    },
    'validator 3 to report venue-c stuck',
    120_000,
  );
  assert.equal(sourceOf(healthy, 'venue-c')?.status, 'healthy');
  assert.equal(sourceOf(healthy, 'venue-c')?.uptime, 1);
  assert.ok(
    (sourceOf(stuck, 'venue-c')?.uptime ?? 1) < 1,
    `stuck uptime ${sourceOf(stuck, 'venue-c')?.uptime}`,
  );
  for (const other of ['venue-a', 'venue-b', 'venue-d'])
    assert.notEqual(sourceOf(stuck, other)?.status, 'stuck', `${other} is not stuck`);
});
