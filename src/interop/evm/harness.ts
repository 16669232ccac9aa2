/**
 * A real EVM in the process for the contract tests and the gas benchmark: `@ethereumjs/vm` (the
 * Ethereum Foundation's JavaScript EVM), Cancun rules, every transaction a signed legacy
 * transaction in a block of its own whose timestamp the test moves. Calls are ABI-encoded with
 * ethers' `Interface` from the solc ABI; reverts come back decoded as the contract's custom
 * error, so a test names the refusal it expects.
 *
 * Gas figures: `executionGas` is what the EVM charged for running the code (what a contract
 * that calls ours pays for it, minus the 2,600 of a cold account); `transactionGas` adds the
 * 21,000 base and the calldata, as a receipt reports it.
 */
import { createBlock } from '@ethereumjs/block';
import { createCustomCommon, Hardfork, Mainnet } from '@ethereumjs/common';
import { createLegacyTx } from '@ethereumjs/tx';
import { Account, Address, createAddressFromPrivateKey, createContractAddress } from '@ethereumjs/util';
import { createVM, runTx, type VM } from '@ethereumjs/vm';
import { Interface, type InterfaceAbi, type Result } from 'ethers';
import { keccak256 } from '../../crypto/hash.ts';
import { type ContractArtifact, compiledContracts } from './compile.ts';

const BLOCK_GAS_LIMIT = 30_000_000n;
const TRANSACTION_GAS_LIMIT = 10_000_000n;
const GAS_PRICE = 10n;
const FUNDING_WEI = 10n ** 24n;

export interface EvmAccount {
  readonly address: Uint8Array;
  /** 0x-prefixed lower-case hex. */
  readonly hex: string;
  readonly secretKey: Uint8Array;
}

export interface DecodedRevert {
  /** The custom error's name, `Error` for a require string, `Panic`, or `unknown`. */
  readonly name: string;
  readonly args: Result | undefined;
}

export interface DecodedLog {
  readonly address: string;
  readonly name: string;
  readonly args: Result;
}

export interface SendResult {
  readonly ok: boolean;
  readonly revert: DecodedRevert | undefined;
  readonly executionGas: bigint;
  readonly transactionGas: bigint;
  readonly logs: readonly DecodedLog[];
  /** The logs as the chain has them (what a JSON-RPC follower would read). */
  readonly rawLogs: readonly RawLog[];
  readonly returned: Result | undefined;
  /** The block the transaction was mined in (one transaction per block). */
  readonly block: { readonly number: bigint; readonly hash: Uint8Array; readonly parentHash: Uint8Array };
  readonly transactionHash: Uint8Array;
}

/** A mined block as a JSON-RPC follower sees it: one transaction, its logs. */
export interface MinedBlock {
  readonly number: bigint;
  readonly hash: Uint8Array;
  readonly parentHash: Uint8Array;
  readonly transactionHash: Uint8Array;
  readonly logs: readonly RawLog[];
}

export interface RawLog {
  readonly address: Uint8Array;
  readonly topics: readonly Uint8Array[];
  readonly data: Uint8Array;
  readonly logIndex: number;
}

export interface CallResult {
  readonly ok: boolean;
  readonly revert: DecodedRevert | undefined;
  readonly value: Result | undefined;
  readonly executionGas: bigint;
}

export interface DeployedContract {
  readonly name: string;
  readonly address: Uint8Array;
  readonly hex: string;
  readonly interface: Interface;
  /** A read-only call (no state change kept), with its execution gas. */
  call(functionName: string, args?: readonly unknown[], from?: EvmAccount): Promise<CallResult>;
  /** A signed transaction from `from`, mined in its own block. */
  send(from: EvmAccount, functionName: string, args?: readonly unknown[]): Promise<SendResult>;
  /**
   * `call` with calldata given byte for byte (an entry point that reads its own layout, or
   * malformed input); the return data is decoded as `decodeAs`'s outputs.
   */
  callData(data: Uint8Array, decodeAs: string, from?: EvmAccount): Promise<CallResult>;
  /** `send` with calldata given byte for byte; the return data decoded as `decodeAs`'s outputs. */
  sendData(from: EvmAccount, data: Uint8Array, decodeAs: string): Promise<SendResult>;
}

export interface EvmHarness {
  readonly chainId: bigint;
  /** The underlying VM, for profiling (its `evm.events` emit every step). */
  readonly vm: VM;
  /** Seconds; the timestamp of the next block. */
  readonly timestamp: bigint;
  /** A funded account with a secret key derived from `label` (test use only). */
  account(label: string): Promise<EvmAccount>;
  deploy(from: EvmAccount, contractName: string, args?: readonly unknown[]): Promise<DeployedContract>;
  /** A contract already deployed at `address`, seen through `contractName`'s ABI. */
  at(contractName: string, address: Uint8Array): DeployedContract;
  /** Every block mined so far, in order (deployments included). */
  readonly blocks: readonly MinedBlock[];
  /** Moves the clock forward; the next block carries the new timestamp. */
  advance(seconds: bigint): void;
}

export class EvmHarnessError extends Error {
  override readonly name = 'EvmHarnessError';
  readonly code: 'UNKNOWN_CONTRACT' | 'DEPLOY_FAILED';
  constructor(code: 'UNKNOWN_CONTRACT' | 'DEPLOY_FAILED', detail: string) {
    super(`${code}: ${detail}`);
    this.code = code;
  }
}

function hexOf(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes).toString('hex')}`;
}

function bytesOf(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex.startsWith('0x') ? hex.slice(2) : hex, 'hex'));
}

/**
 * A fresh chain with the compiled contracts available by name.
 * @example
 * const evm = await createEvmHarness({ chainId: 31337n });
 * const deployer = await evm.account('deployer');
 * const verifier = await evm.deploy(deployer, 'PalisadeVerifier', [1n, groupKey]);
 */
export async function createEvmHarness(
  options: { chainId?: bigint; timestamp?: bigint } = {},
): Promise<EvmHarness> {
  const chainId = options.chainId ?? 31337n;
  const common = createCustomCommon({ chainId: Number(chainId) }, Mainnet, { hardfork: Hardfork.Cancun });
  const vm: VM = await createVM({ common });
  const artifacts = compiledContracts().contracts;
  // Every contract's errors, so a revert from a callee (the verifier inside the vault) decodes too.
  const allErrors = new Interface(
    [...artifacts.values()].flatMap((a) =>
      (a.abi as { type: string }[]).filter((item) => item.type === 'error'),
    ),
  );
  const nonces = new Map<string, bigint>();
  const accounts = new Map<string, EvmAccount>();
  const mined: MinedBlock[] = [];
  let timestamp = options.timestamp ?? 1_750_000_000n;
  let blockNumber = 1n;
  const interfaces = new Map<string, Interface>();
  const byAddress = new Map<string, Interface>();

  const interfaceOf = (artifact: ContractArtifact): Interface => {
    let existing = interfaces.get(artifact.name);
    if (existing === undefined) {
      existing = new Interface(artifact.abi as InterfaceAbi);
      interfaces.set(artifact.name, existing);
    }
    return existing;
  };

  const artifactOf = (name: string): ContractArtifact => {
    const artifact = artifacts.get(name);
    if (artifact === undefined)
      throw new EvmHarnessError('UNKNOWN_CONTRACT', `no contract '${name}' in contracts/`);
    return artifact;
  };

  const blockAt = (number: bigint, time: bigint) =>
    createBlock(
      {
        header: {
          number,
          parentHash,
          timestamp: time,
          gasLimit: BLOCK_GAS_LIMIT,
          baseFeePerGas: 1n,
          coinbase: new Address(new Uint8Array(20)),
        },
      },
      { common, skipConsensusFormatValidation: true },
    );
  const currentBlock = () => blockAt(blockNumber, timestamp);
  let parentHash: Uint8Array = new Uint8Array(32);
  const nextBlock = () => {
    const block = blockAt(blockNumber, timestamp);
    parentHash = block.hash();
    blockNumber += 1n;
    timestamp += 12n;
    return block;
  };

  const decodeRevert = (data: Uint8Array, contract: Interface): DecodedRevert => {
    if (data.length < 4) return { name: 'unknown', args: undefined };
    for (const candidate of [contract, allErrors]) {
      try {
        const parsed = candidate.parseError(hexOf(data));
        if (parsed !== null) return { name: parsed.name, args: parsed.args };
      } catch {
        // not this interface's error; try the next
      }
    }
    return { name: 'unknown', args: undefined };
  };

  const decodeLogs = (logs: readonly [Uint8Array, Uint8Array[], Uint8Array][] | undefined): DecodedLog[] => {
    const out: DecodedLog[] = [];
    for (const [address, topics, data] of logs ?? []) {
      const contract = byAddress.get(hexOf(address));
      if (contract === undefined) continue;
      const parsed = contract.parseLog({ topics: topics.map(hexOf), data: hexOf(data) });
      if (parsed !== null) out.push({ address: hexOf(address), name: parsed.name, args: parsed.args });
    }
    return out;
  };

  const sendRaw = async (from: EvmAccount, to: Uint8Array | undefined, data: Uint8Array) => {
    const nonce = nonces.get(from.hex) ?? 0n;
    const tx = createLegacyTx(
      to === undefined
        ? { nonce, gasPrice: GAS_PRICE, gasLimit: TRANSACTION_GAS_LIMIT, data }
        : { nonce, gasPrice: GAS_PRICE, gasLimit: TRANSACTION_GAS_LIMIT, to: new Address(to), data },
      { common },
    ).sign(from.secretKey);
    const block = nextBlock();
    const result = await runTx(vm, { tx, block });
    nonces.set(from.hex, nonce + 1n);
    const header = { number: block.header.number, hash: block.hash(), parentHash: block.header.parentHash };
    const failed = result.execResult.exceptionError !== undefined;
    const logs = (failed ? [] : (result.execResult.logs ?? [])) as [Uint8Array, Uint8Array[], Uint8Array][];
    const rawLogs = logs.map(([address, topics, logData], logIndex) => ({
      address,
      topics,
      data: logData,
      logIndex,
    }));
    mined.push({ ...header, transactionHash: tx.hash(), logs: rawLogs });
    return { result, block: header, transactionHash: tx.hash(), rawLogs };
  };

  let caller: EvmAccount | undefined;
  const callerAccount = async (): Promise<EvmAccount> => {
    caller ??= await harness.account('read-only caller');
    return caller;
  };

  const bind = (name: string, address: Uint8Array): DeployedContract => {
    const contract = interfaceOf(artifactOf(name));
    byAddress.set(hexOf(address), contract);
    const callData: DeployedContract['callData'] = async (data, functionName, from) => {
      // A real transaction (so precompiles and the sender start warm and everything else cold,
      // as on chain) whose state changes are thrown away; it does not move the clock.
      const caller = from ?? (await callerAccount());
      const tx = createLegacyTx(
        { nonce: 0n, gasPrice: GAS_PRICE, gasLimit: TRANSACTION_GAS_LIMIT, to: new Address(address), data },
        { common },
      ).sign(caller.secretKey);
      await vm.stateManager.checkpoint();
      let exec: Awaited<ReturnType<typeof runTx>>['execResult'];
      try {
        const result = await runTx(vm, { tx, block: currentBlock(), skipNonce: true, skipBalance: true });
        exec = result.execResult;
      } finally {
        await vm.stateManager.revert();
      }
      if (exec.exceptionError !== undefined) {
        return {
          ok: false,
          revert: decodeRevert(exec.returnValue, contract),
          value: undefined,
          executionGas: exec.executionGasUsed,
        };
      }
      return {
        ok: true,
        revert: undefined,
        value: contract.decodeFunctionResult(functionName, hexOf(exec.returnValue)),
        executionGas: exec.executionGasUsed,
      };
    };
    const sendData: DeployedContract['sendData'] = async (from, data, functionName) => {
      const { result, block, transactionHash, rawLogs } = await sendRaw(from, address, data);
      const exec = result.execResult;
      const ok = exec.exceptionError === undefined;
      const logs = (ok ? (exec.logs ?? []) : []) as [Uint8Array, Uint8Array[], Uint8Array][];
      return {
        ok,
        revert: ok ? undefined : decodeRevert(exec.returnValue, contract),
        executionGas: exec.executionGasUsed,
        transactionGas: result.totalGasSpent,
        logs: decodeLogs(logs),
        rawLogs,
        returned: ok ? contract.decodeFunctionResult(functionName, hexOf(exec.returnValue)) : undefined,
        block,
        transactionHash,
      };
    };
    return {
      name,
      address,
      hex: hexOf(address),
      interface: contract,
      call: (functionName, args = [], from) =>
        callData(bytesOf(contract.encodeFunctionData(functionName, args)), functionName, from),
      callData,
      send: (from, functionName, args = []) =>
        sendData(from, bytesOf(contract.encodeFunctionData(functionName, args)), functionName),
      sendData,
    };
  };

  const harness: EvmHarness = {
    chainId,
    vm,
    blocks: mined,
    get timestamp() {
      return timestamp;
    },
    async account(label) {
      const known = accounts.get(label);
      if (known !== undefined) return known;
      const secretKey = keccak256(new TextEncoder().encode(`palisade evm harness account ${label}`));
      const address = createAddressFromPrivateKey(secretKey);
      await vm.stateManager.putAccount(address, new Account(0n, FUNDING_WEI));
      const created = { address: address.bytes, hex: address.toString(), secretKey };
      accounts.set(label, created);
      return created;
    },
    async deploy(from, contractName, args = []) {
      const artifact = artifactOf(contractName);
      const contract = interfaceOf(artifact);
      const encodedArgs = bytesOf(contract.encodeDeploy(args));
      const data = new Uint8Array(artifact.bytecode.length + encodedArgs.length);
      data.set(artifact.bytecode, 0);
      data.set(encodedArgs, artifact.bytecode.length);
      const nonce = nonces.get(from.hex) ?? 0n;
      const { result } = await sendRaw(from, undefined, data);
      if (result.execResult.exceptionError !== undefined || result.createdAddress === undefined) {
        const revert = decodeRevert(result.execResult.returnValue, contract);
        throw new EvmHarnessError('DEPLOY_FAILED', `${contractName}: ${revert.name}`);
      }
      const address = createContractAddress(new Address(from.address), nonce).bytes;
      return bind(contractName, address);
    },
    at(contractName, address) {
      return bind(contractName, address);
    },
    advance(seconds) {
      timestamp += seconds;
    },
  };
  return harness;
}
