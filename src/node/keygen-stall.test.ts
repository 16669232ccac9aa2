/**
 * PALISADE-KEYGEN-STALLED end to end where it can be: the stalled session is a real keygen state
 * machine driven into the known stall (one dealer times its public answer at the complaint
 * deadline and withholds its attestation, src/crypto/keygen.ts "Timing"), its `waitingFor()` turned
 * into the signal by the node's own mapping (monitor-feed.ts `keygenSessionsOf`), through the
 * standard monitor with its default configuration.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { peekTag } from '../codec/message.ts';
import { createEd25519Signer } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import {
  createKeygenMachine,
  type KeygenMachine,
  type KeygenOutput,
  type KeygenSession,
  sealKeygenMessage,
} from '../crypto/keygen.ts';
import {
  KeygenAttestationCodec,
  KeygenJustificationCodec,
  SealedKeygenCodec,
} from '../crypto/keygen-codec.ts';
import { DEFAULT_MONITOR_CONFIG, resolveMonitorConfig } from '../monitor/config.ts';
import type { Finding } from '../monitor/finding.ts';
import { createMonitor } from '../monitor/monitor.ts';
import { parseMonitorSettings } from '../monitor/settings.ts';
import type { KeygenSignal } from '../monitor/signals.ts';
import { keygenSessionsOf } from './monitor-feed.ts';

const signers = Array.from({ length: 4 }, (_, i) =>
  createEd25519Signer(sha256(new TextEncoder().encode(`validator ${i}`))),
);
const session: KeygenSession = {
  chainId: 7,
  epoch: 1,
  kind: 'dkg',
  dealerKeys: signers.map((s) => s.publicKey),
  recipientKeys: signers.map((s) => s.publicKey),
  threshold: 3,
};
const tagOf = (bytes: Uint8Array) => peekTag(SealedKeygenCodec.decode(bytes).payload);

/**
 * Validators 0–2 honest, 3 Byzantine: it withholds its share to 0, sends its public answer to 0's
 * complaint only to 1 just before 1's complaint deadline (1 keeps 3 in QUAL; 0 and 2, past theirs,
 * leave it out) and attests nothing. Two honest views, no n − f attestations of either: stalled.
 * Returns the honest machines and a way for 3 to attest 0's view at last (the stall ends).
 */
function stalledGenesisDkg() {
  const machines = signers.map((signer, i) =>
    createKeygenMachine(session, { dealer: i, recipient: i, signer }),
  );
  const queue: { from: number; output: KeygenOutput }[] = [];
  const held: { from: number; output: KeygenOutput }[] = [];
  let answerOut = false;
  const emit = (from: number, outputs: KeygenOutput[]) => {
    for (const output of outputs) {
      if (from === 3) {
        if (output.to === 'recipient' && output.recipient === 0) continue;
        const tag = tagOf(output.bytes);
        if (tag === KeygenJustificationCodec.tag) {
          held.push({ from, output: { to: 'recipient', recipient: 1, bytes: output.bytes } });
          continue;
        }
        if (tag === KeygenAttestationCodec.tag) continue;
      }
      // What 1 relays once it holds the answer reaches the others after their deadline.
      if (answerOut && from === 1) held.push({ from, output });
      else queue.push({ from, output });
    }
  };
  const deliver = (only?: number) => {
    while (queue.length > 0) {
      const { from, output } = queue.shift()!;
      machines.forEach((m, r) => {
        if (r === from || (output.to === 'recipient' && output.recipient !== r)) return;
        if (only === undefined || r === only) emit(r, m.receive(output.bytes));
      });
    }
  };
  machines.forEach((m, i) => {
    emit(i, m.start());
  });
  deliver();
  machines.forEach((m, i) => {
    emit(i, m.advance('deals'));
  });
  deliver();
  answerOut = true;
  queue.push(...held.splice(0, held.length));
  deliver(1);
  emit(1, machines[1]!.advance('complaints'));
  for (const i of [0, 2]) emit(i, machines[i]!.advance('complaints'));
  answerOut = false;
  queue.push(...held.splice(0, held.length));
  const attestationOf0 = queue.find(
    (q) => q.from === 0 && tagOf(q.output.bytes) === KeygenAttestationCodec.tag,
  );
  deliver();
  const honest = machines.slice(0, 3);
  const attest3WithView0 = () => {
    const body = KeygenAttestationCodec.decode(
      SealedKeygenCodec.decode(attestationOf0!.output.bytes).payload,
    );
    const sealed = sealKeygenMessage(
      signers[3]!,
      session.chainId,
      KeygenAttestationCodec.encode({ ...body, recipient: 3 }),
    );
    queue.push({ from: 3, output: { to: 'all', bytes: sealed } });
    deliver();
  };
  return { honest, attest3WithView0 };
}

const DEADLINES_MS = 40_000;

/** The keygen signal validator 0 would sample, `runningMs` into a session started at `startedMs`. */
function sampleOf(machine: KeygenMachine, runningMs: number, startedMs = 5): KeygenSignal {
  const running =
    machine.phase === 'done'
      ? []
      : [
          {
            kind: 'dkg' as const,
            epoch: session.epoch,
            startedMs,
            deadlinesMs: DEADLINES_MS,
            phase: machine.phase,
            waitingFor: machine.waitingFor(),
          },
        ];
  return {
    kind: 'keygen',
    // The chain moves on meanwhile: a repeat would be a new finding, not a duplicate id.
    height: Math.floor(runningMs / 1_000),
    timeMs: 1_700_000_000_000 + startedMs + runningMs,
    sessions: keygenSessionsOf(running, []).map((entry) => ({ ...entry, runningMs })),
  };
}

const stallAlerts = (findings: readonly Finding[]) =>
  findings.filter((f) => f.alertId.startsWith('PALISADE-KEYGEN-'));

test('a genesis DKG stalled by a withheld answer: reported once past its deadlines, naming whom it waits for', () => {
  const { honest, attest3WithView0 } = stalledGenesisDkg();
  const v0 = honest[0]!;
  assert.equal(v0.phase, 'attesting', 'the machine is really stuck in the attestation round');
  assert.deepEqual(v0.waitingFor().attestations, [3]);
  const monitor = createMonitor();
  const bound = DEADLINES_MS + DEFAULT_MONITOR_CONFIG.keygen.stallGraceMs;
  // Young, or just past its own deadlines (an honest session finishes there): nothing.
  for (const runningMs of [0, 10_000, DEADLINES_MS + 1, bound])
    assert.deepEqual(stallAlerts(monitor.ingest(sampleOf(v0, runningMs))), [], `at ${runningMs} ms`);
  const [stalled, ...more] = stallAlerts(monitor.ingest(sampleOf(v0, bound + 1)));
  assert.equal(more.length, 0);
  assert.equal(stalled?.alertId, 'PALISADE-KEYGEN-STALLED');
  assert.equal(stalled.severity, 'High');
  assert.deepEqual(stalled.addresses, ['validator:3']);
  assert.equal(stalled.metadata.keygen, 'price-dkg');
  assert.equal(stalled.metadata.phase, 'attesting');
  assert.equal(stalled.metadata.waitingOn, '3');
  assert.match(stalled.description, /waiting for validators 3/);
  // The same stall, sampled every second for an hour: no second finding.
  for (let s = 1; s <= 3_600; s += 1)
    assert.deepEqual(stallAlerts(monitor.ingest(sampleOf(v0, bound + 1 + s * 1_000))), []);
  // 3 attests at last: the quorum forms, the session completes, the stall is resolved, once.
  attest3WithView0();
  assert.equal(v0.phase, 'done');
  const resolved = stallAlerts(monitor.ingest(sampleOf(v0, bound + 3_700_000)));
  assert.deepEqual(
    resolved.map((f) => [f.alertId, f.severity]),
    [['PALISADE-KEYGEN-RESOLVED', 'Info']],
  );
  assert.deepEqual(stallAlerts(monitor.ingest(sampleOf(v0, bound + 3_800_000))), []);
  assert.equal(monitor.counts().find((c) => c.alertId === 'PALISADE-KEYGEN-STALLED')?.total, 1);
});

test('split attestations (everyone attested, no quorum): still reported, with no one to name', () => {
  const monitor = createMonitor();
  const signal: KeygenSignal = {
    kind: 'keygen',
    height: 3,
    timeMs: 1_700_000_000_000,
    sessions: [
      {
        keygen: 'price-refresh',
        epoch: 4,
        startedMs: 10,
        runningMs: 100_001,
        deadlinesMs: DEADLINES_MS,
        phase: 'attesting',
        waitingFor: { deals: [2], shares: [], complaints: [], attestations: [] },
      },
    ],
  };
  const [finding] = stallAlerts(monitor.ingest(signal));
  assert.equal(finding?.severity, 'Medium', 'a refresh leaves the old keyset signing');
  assert.deepEqual(finding.addresses, [], 'dealers silent past the deal deadline are not waited for');
  assert.match(finding.description, /no one/);
});

test('a retried session (new start) is judged afresh; a young retry does not inherit the stall', () => {
  const monitor = createMonitor();
  const entry = (startedMs: number, runningMs: number): KeygenSignal => ({
    kind: 'keygen',
    height: 0,
    timeMs: 1_700_000_000_000,
    sessions: [
      {
        keygen: 'eon-dkg',
        epoch: 2,
        startedMs,
        runningMs,
        deadlinesMs: DEADLINES_MS,
        phase: 'dealing',
        waitingFor: { deals: [1, 2], shares: [2], complaints: [], attestations: [] },
      },
    ],
  });
  const [first] = stallAlerts(monitor.ingest(entry(0, 200_000)));
  assert.deepEqual(first?.addresses, ['validator:1', 'validator:2']);
  const swap = stallAlerts(monitor.ingest(entry(200_000, 1_000)));
  assert.deepEqual(
    swap.map((f) => f.alertId),
    ['PALISADE-KEYGEN-RESOLVED'],
  );
  assert.equal(stallAlerts(monitor.ingest(entry(200_000, 100_001))).length, 1);
});

test('malformed keygen settings are refused with a typed error naming the field', () => {
  for (const stallGraceMs of [0, -1, 1.5, 86_400_001, '60000', Number.NaN])
    assert.throws(
      () => resolveMonitorConfig({ keygen: { stallGraceMs: stallGraceMs as number } }),
      { name: 'MonitorError', code: 'INVALID_CONFIG', field: 'keygen.stallGraceMs' },
      String(stallGraceMs),
    );
  assert.throws(() => resolveMonitorConfig({ keygen: { stallMs: 5 } as never }), {
    code: 'INVALID_CONFIG',
    field: 'keygen.stallMs',
  });
  assert.throws(() => parseMonitorSettings({ thresholds: { keygen: { stallGraceMs: 0 } } }), {
    code: 'INVALID_CONFIG',
    field: 'monitor.thresholds.keygen.stallGraceMs',
  });
  assert.deepEqual(parseMonitorSettings({ thresholds: { keygen: { stallGraceMs: 120_000 } } }).config, {
    keygen: { stallGraceMs: 120_000 },
  });
  assert.equal(
    resolveMonitorConfig({ keygen: { stallGraceMs: 86_400_000 } }).keygen.stallGraceMs,
    86_400_000,
  );
});
