/**
 * Deposit attacks on the bridge, against the real thing: the committed vault on a real EVM
 * (Hardhat's EDR in-process, src/interop/evm/edr-server.ts), each validator's JSON-RPC follower
 * (follower-rpc.ts) and signed reporter (deposit-quorum.ts), and the block rule every validator
 * executes (src/chain/block-rule.ts), four validators (f = 1) or seven (f = 2). A Byzantine
 * validator signs whatever it likes with its own identity key and, as proposer, puts any reports
 * it holds into a block; honest verifiers refuse a block whose reports have a problem
 * (`depositReportProblems`), and the entry also executes such a block anyway to show what the
 * quorum rule alone would credit. An entry is `refused` when no account holds a unit the vault
 * did not receive for it and the genuine control deposit is credited exactly once.
 */
import { type ChainBridge, type ChainState, createChainState, executeBlock } from '../../chain/block-rule.ts';
import { type DepositReportBody, SignedDepositReportCodec } from '../../codec/bridge.ts';
import { BlockPayloadCodec } from '../../codec/node.ts';
import type { Ed25519Signer } from '../../crypto/ed25519.ts';
import { testGenesis, testSigner, USDC } from '../../execution/fixtures.ts';
import {
  createDepositReporter,
  type DepositReporter,
  depositReportProblems,
  signDepositReport,
} from '../../interop/evm/deposit-quorum.ts';
import { type EdrServer, startEdrServer } from '../../interop/evm/edr-server.ts';
import { createRpcDepositFollower, type RpcDepositFollower } from '../../interop/evm/follower-rpc.ts';
import { createEvmReader } from '../../interop/evm/rpc.ts';
import {
  type BridgeDeployment,
  deployTokenAndVault,
  depositFor,
  depositPrepared,
  prepareDeposit,
  readVault,
} from '../../interop/evm/vault-setup.ts';
import { type Evidence, type Outcome, usdc } from './scenario.ts';

const CHAIN_ID = 7;
const CONFIRMATIONS = 3;
const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex.slice(2), 'hex'));
const ALICE = new Uint8Array(32).fill(0xa1);
const MALLORY = new Uint8Array(32).fill(0x6d);
const GENUINE = 1_000n * BigInt(USDC);
const FAKE = 1_000_000n * BigInt(USDC);

interface World {
  server: EdrServer;
  deployment: BridgeDeployment;
  bridge: ChainBridge;
  signers: Ed25519Signer[];
  validators: { reporter: DepositReporter; follower: RpcDepositFollower }[];
  states: ChainState[];
  statuses: string[];
  facts: string[];
  /** Polls the `online` validators' followers and runs one block with their reports and `extra`. */
  block(online: readonly number[], extra?: readonly Uint8Array[]): void | Promise<void>;
  balance(account: Uint8Array): bigint;
  mine(blocks: number): Promise<void>;
  close(): Promise<void>;
}

async function startWorld(n: number, label: string): Promise<World> {
  const server = await startEdrServer();
  const deployment = await deployTokenAndVault(server.url);
  const bridge: ChainBridge = {
    evmChainId: deployment.evmChainId,
    vault: bytes(deployment.vault),
    token: bytes(deployment.token),
  };
  const signers = Array.from({ length: n }, (_, i) => testSigner(`${label}-${i}`));
  const engineGenesis = testGenesis({ chainId: CHAIN_ID });
  const states = signers.map(() =>
    createChainState({
      chainId: CHAIN_ID,
      validators: signers.map((s) => s.publicKey),
      assets: [],
      engineGenesis,
      bridge,
    }),
  );
  const validators = signers.map((signer, i) => {
    const reporter = createDepositReporter({
      signer,
      chainId: CHAIN_ID,
      bridge,
      isCredited: (nonce) => states[i]!.engine.depositCredited(nonce),
    });
    const follower = createRpcDepositFollower({
      reader: createEvmReader({ url: server.url, timeoutMs: 5000 }),
      vault: bridge.vault,
      confirmations: CONFIRMATIONS,
      fromBlock: BigInt(deployment.fromBlock),
      report: (deposit) => reporter.add(deposit),
      maxBlocksPerPoll: 1000,
    });
    return { reporter, follower };
  });
  const statuses: string[] = [];
  const facts: string[] = [];
  const rules = { chainId: CHAIN_ID, validators: signers.map((s) => s.publicKey), bridge };
  return {
    server,
    deployment,
    bridge,
    signers,
    validators,
    states,
    statuses,
    facts,
    async block(online, extra = []) {
      for (const i of online) await validators[i]!.follower.poll();
      const height = states[0]!.engine.height + 1;
      const honest = online
        .map((i) => validators[i]!.reporter.report(height))
        .filter((report): report is Uint8Array => report !== undefined);
      const reports = [...honest, ...extra];
      const problems = depositReportProblems(rules, height, reports);
      const before = states[0]!.engine.account(MALLORY)?.balance ?? 0n;
      const payload = BlockPayloadCodec.encode({
        timeMs: engineGenesis.startTimeMs + height * 1000,
        transactions: [],
        observations: [],
        deposits: reports,
        stateRootHeight: 0,
        stateRoot: new Uint8Array(32),
        envelopes: [],
        batchKeys: [],
        earlyShares: [],
        eonActivations: [],
      });
      for (const state of states) executeBlock(state, { height, payload });
      const after = states[0]!.engine.account(MALLORY)?.balance ?? 0n;
      statuses.push(
        `block ${height}: ${honest.length} honest report(s)${extra.length === 0 ? '' : ` + ${extra.length} attacker report(s)`} → ${
          problems.length === 0
            ? 'verifiers accept'
            : `verifiers refuse the block (${problems.map((p) => `report ${p.index}: ${p.reason}`).join(', ')})`
        }; alice ${usdc(states[0]!.engine.account(ALICE)?.balance ?? 0n)}, mallory ${usdc(before)} → ${usdc(after)}`,
      );
    },
    balance: (account) => states[0]!.engine.account(account)?.balance ?? 0n,
    async mine(blocks) {
      for (let i = 0; i < blocks; i++) await server.request('evm_mine');
    },
    close: () => server.close(),
  };
}

/** A report `signer` signs for `height` naming whatever deposits it likes. */
function forgedReport(
  world: World,
  signer: Ed25519Signer,
  height: number,
  deposits: DepositReportBody['deposits'],
  domain: { evmChainId?: number; vault?: Uint8Array } = {},
): Uint8Array {
  const body: DepositReportBody = {
    chainId: CHAIN_ID,
    height,
    validator: signer.publicKey,
    evmChainId: domain.evmChainId ?? world.bridge.evmChainId,
    vault: domain.vault ?? world.bridge.vault,
    deposits,
  };
  return SignedDepositReportCodec.encode(signDepositReport(signer, body));
}

function fakeDeposit(world: World, nonce: number, amount: bigint): DepositReportBody['deposits'][number] {
  return {
    transactionHash: new Uint8Array(32).fill(0xfa),
    logIndex: 0,
    account: MALLORY,
    token: world.bridge.token,
    amount,
    nonce,
  };
}

function outcome(world: World, what: string, extraLoss = 0n): Outcome {
  const mallory = world.balance(MALLORY);
  const alice = world.balance(ALICE);
  const loss = mallory + (alice > GENUINE ? alice - GENUINE : 0n) + extraLoss;
  const controlCredited = alice === GENUINE;
  const evidence: Evidence = {
    statuses: world.statuses,
    events: {},
    notable: [],
    balancesBefore: { alice: '0.000000', mallory: '0.000000' },
    balancesAfter: { alice: usdc(alice), mallory: usdc(mallory) },
    insuranceFund: { before: '0', after: '0' },
    socializedLoss: '0',
    facts: [
      ...world.facts,
      `control: alice's genuine ${usdc(GENUINE)} deposit credited exactly once: ${controlCredited}`,
    ],
  };
  const refused = loss === 0n && controlCredited;
  return {
    verdict: refused ? 'refused' : 'succeeded',
    loss,
    summary: refused
      ? what
      : loss > 0n
        ? `${usdc(loss)} credited that the vault never received`
        : "alice's genuine deposit was not credited exactly once",
    evidence,
  };
}

async function withWorld(
  n: number,
  label: string,
  attack: (world: World) => Promise<string>,
): Promise<Outcome> {
  const world = await startWorld(n, label);
  try {
    const what = await attack(world);
    return outcome(world, what);
  } finally {
    await world.close();
  }
}

/**
 * Ronin / Harmony: f validators (n = 4 and 7) sign a deposit the vault never saw (nonce 2, to the
 * attacker), and the same f sign the genuine nonce 1 with the amount raised and the account
 * changed; the Byzantine proposer carries their reports beside the honest ones.
 */
export async function fakeDepositByF(): Promise<Outcome> {
  const facts: string[] = [];
  const statuses: string[] = [];
  let worst: Outcome | undefined;
  for (const n of [4, 7]) {
    const f = Math.floor((n - 1) / 3);
    const result = await withWorld(n, `ronin-deposit-${n}`, async (world) => {
      await depositFor(world.deployment, 8, ALICE, GENUINE);
      await world.mine(CONFIRMATIONS);
      const honest = Array.from({ length: n - f }, (_, i) => i + f);
      const height = () => world.states[0]!.engine.height + 1;
      const forged = () =>
        world.signers
          .slice(0, f)
          .flatMap((signer) => [
            forgedReport(world, signer, height(), [
              { ...fakeDeposit(world, 1, FAKE) },
              { ...fakeDeposit(world, 2, FAKE) },
            ]),
          ]);
      // Only the f liars report: nothing to credit but lies.
      await world.block([], forged());
      // The liars and one honest validator: still short of 2f + 1 for any content.
      await world.block([honest[0]!], forged());
      // Every honest validator: the genuine deposit reaches the quorum, the lies do not.
      await world.block(honest, forged());
      world.facts.push(
        `n = ${n}, f = ${f}: the f liars signed nonce 1 raised to ${usdc(FAKE)} for mallory and an invented nonce 2; quorum is ${2 * f + 1}`,
      );
      return 'f signatures never reach 2f + 1: the fake and the raised deposit are never credited; the genuine one is, once';
    });
    facts.push(...result.evidence.facts.map((fact) => `n = ${n}: ${fact}`));
    statuses.push(...result.evidence.statuses.map((status) => `n = ${n}: ${status}`));
    if (worst === undefined || result.verdict === 'succeeded') worst = result;
  }
  return { ...worst!, evidence: { ...worst!.evidence, statuses, facts } };
}

/**
 * A deposit reorged away before its confirmation: the attacker deposits, the chain is rolled back
 * below the deposit (evm_revert) once it is `confirmations − 1` deep and replaced by other blocks;
 * the attacker's tokens are back in its wallet, and it hopes the validators reported the deposit.
 */
export async function depositReorgedAway(): Promise<Outcome> {
  return withWorld(4, 'reorg-deposit', async (world) => {
    await depositFor(world.deployment, 8, ALICE, GENUINE);
    await world.mine(CONFIRMATIONS);
    await world.block([0, 1, 2, 3]);
    await prepareDeposit(world.deployment, 9, FAKE);
    const fork = (await world.server.request('evm_snapshot')) as string;
    await depositPrepared(world.deployment, 9, MALLORY, FAKE);
    await world.mine(CONFIRMATIONS - 2);
    // Every validator looks while the attacker's deposit is one block short of its depth.
    await world.block([0, 1, 2, 3]);
    await world.server.request('evm_revert', [fork]);
    await world.mine(CONFIRMATIONS + 2);
    await world.block([0, 1, 2, 3]);
    await world.block([0, 1, 2, 3]);
    const vault = await readVault(world.deployment);
    world.facts.push(
      `after the reorg the vault's depositNonce is ${vault.depositNonce} and it holds ${usdc(vault.balance)}: the attacker's deposit is not on the chain`,
    );
    return 'a deposit is reported only once confirmations deep; the reorged one never was, so never credited';
  });
}

/**
 * A replayed deposit: alice's genuine deposit is credited; then a Byzantine proposer puts the very
 * reports that credited it into a later block, and f validators re-sign it at the new height.
 */
export async function depositReplayed(): Promise<Outcome> {
  return withWorld(4, 'replay-deposit', async (world) => {
    await depositFor(world.deployment, 8, ALICE, GENUINE);
    await world.mine(CONFIRMATIONS);
    for (const validator of world.validators) await validator.follower.poll();
    const height = world.states[0]!.engine.height + 1;
    const crediting = [0, 1, 2, 3].map((i) => world.validators[i]!.reporter.report(height)!);
    await world.block([], crediting);
    // The same signed reports, one block later.
    await world.block([0, 1, 2, 3], crediting);
    // Re-signed for the current height by every validator's key (the honest ones would not: they
    // see it credited; this is the strongest replay the quorum rule must still refuse).
    const genuine = SignedDepositReportCodec.decode(crediting[0]!).body.deposits;
    const now = world.states[0]!.engine.height + 1;
    await world.block(
      [],
      world.signers.map((signer) => forgedReport(world, signer, now, genuine)),
    );
    world.facts.push(
      'replayed: the crediting reports at a later height; then the same deposit re-signed at the current height by all four keys',
    );
    return 'old reports are refused at another height, and a credited vault nonce is never credited again';
  });
}

/**
 * Another chain id or vault: the attacker deposits into a vault of its own on the same chain and
 * into one on another chain (id 1), and f validators sign reports naming those; honest validators
 * follow only the vault and chain in genesis.
 */
export async function depositOtherChainOrVault(): Promise<Outcome> {
  return withWorld(4, 'domain-deposit', async (world) => {
    const otherVault = await deployTokenAndVault(world.server.url, { deployer: 7 });
    const otherChain = await startEdrServer({ chainId: 1n });
    try {
      const foreign = await deployTokenAndVault(otherChain.url);
      await depositFor(world.deployment, 8, ALICE, GENUINE);
      await depositFor(otherVault, 9, MALLORY, FAKE);
      await depositFor(foreign, 9, MALLORY, FAKE);
      await world.mine(CONFIRMATIONS);
      const height = world.states[0]!.engine.height + 1;
      const lie = fakeDeposit(world, 2, FAKE);
      await world.block(
        [0, 1, 2, 3],
        [
          forgedReport(world, world.signers[0]!, height, [lie], { vault: bytes(otherVault.vault) }),
          forgedReport(world, world.signers[0]!, height, [lie], {
            evmChainId: 1,
            vault: bytes(foreign.vault),
          }),
        ],
      );
      // Even signed by every key, a report naming another vault or chain counts for nothing.
      const next = world.states[0]!.engine.height + 1;
      await world.block(
        [],
        world.signers.map((signer) =>
          forgedReport(world, signer, next, [fakeDeposit(world, 2, FAKE)], {
            vault: bytes(otherVault.vault),
          }),
        ),
      );
      world.facts.push(
        `other vault ${otherVault.vault} on chain ${otherVault.evmChainId} and vault ${foreign.vault} on chain ${foreign.evmChainId} each received ${usdc(FAKE)} from the attacker`,
      );
      return 'the followers read only the genesis vault, and every verifier refuses a report naming another chain id or vault';
    } finally {
      await otherChain.close();
    }
  });
}
