/**
 * A local EVM JSON-RPC node for tests: src/interop/evm/edr-server.ts (Hardhat's EDR behind HTTP on
 * 127.0.0.1) in its test mode: auto-mining only, `evm_mine`, `evm_snapshot` / `evm_revert`
 * (reorgs) and the standard `eth_*` reads the follower uses.
 */
import { startEdrServer } from '../../src/interop/evm/edr-server.ts';

export interface EdrNode {
  readonly url: string;
  readonly chainId: bigint;
  /** Secret keys of the funded accounts, 0x-prefixed. */
  readonly accounts: readonly `0x${string}`[];
  /** One JSON-RPC call straight to the provider (for test set-up). */
  request(method: string, params?: unknown[]): Promise<unknown>;
  close(): Promise<void>;
}

export function startEdrNode(options: { chainId?: bigint } = {}): Promise<EdrNode> {
  return startEdrServer(options.chainId === undefined ? {} : { chainId: options.chainId });
}
