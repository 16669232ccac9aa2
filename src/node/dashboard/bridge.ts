/**
 * The dashboard's bridge panel (server side): the vault as the EVM node holds it — deposits made,
 * the token held, each rate-limit bucket's available capacity, capacity and refill, the delay
 * threshold and the pause (curse) state, global and per token — read straight from the EVM node
 * with `eth_call` at one block (src/interop/evm/vault-setup.ts `readVault`), and the withdrawals of the
 * latest certified checkpoint from a validator (`GET /v1/bridge/checkpoints/latest`).
 *
 * Why the EVM node and not a validator for the vault: the vault is what holds the tokens and
 * enforces the limits and the pause; an operator trusts their own EVM node's view of it, not a
 * validator's report of it (a validator relaying capacity or pause would be one more party to
 * believe, and could lag or lie). Withdrawals are Palisade state, so they come from Palisade.
 */
import { type BridgeDeployment, readVault } from '../../interop/evm/vault-setup.ts';

export interface DashboardBridge {
  rpc: string;
  vault: string;
  token: string;
  verifier: string;
  /** The EVM block the vault was read at; null when the EVM node did not answer. */
  blockNumber: number | null;
  depositsMade: number | null;
  /** Base units (6 decimals) as decimal strings. */
  vaultBalance: string | null;
  tokenBucket: { available: string; capacity: string; ratePerSecond: string; delayThreshold: string } | null;
  globalBucket: { available: string; capacity: string; ratePerSecond: string } | null;
  delaySeconds: number | null;
  paused: { global: boolean; token: boolean } | null;
  /** The latest certified checkpoint: its height and the withdrawals its root covers. */
  checkpoint: { height: number; withdrawals: number } | null;
  error: string | null;
}

/**
 * @example const panel = await pollBridge(deployment, 'http://127.0.0.1:26700', 800);
 */
export async function pollBridge(
  deployment: Pick<BridgeDeployment, 'rpc' | 'vault' | 'token' | 'verifier'>,
  apiUrl: string | undefined,
  timeoutMs: number,
): Promise<DashboardBridge> {
  const panel: DashboardBridge = {
    rpc: deployment.rpc,
    vault: deployment.vault,
    token: deployment.token,
    verifier: deployment.verifier,
    blockNumber: null,
    depositsMade: null,
    vaultBalance: null,
    tokenBucket: null,
    globalBucket: null,
    delaySeconds: null,
    paused: null,
    checkpoint: null,
    error: null,
  };
  try {
    const vault = await readVault(deployment);
    panel.blockNumber = Number(vault.blockNumber);
    panel.depositsMade = Number(vault.depositNonce);
    panel.vaultBalance = vault.balance.toString();
    panel.tokenBucket = {
      available: vault.token.available.toString(),
      capacity: vault.token.capacity.toString(),
      ratePerSecond: vault.token.ratePerSecond.toString(),
      delayThreshold: vault.token.delayThreshold.toString(),
    };
    panel.globalBucket = {
      available: vault.global.available.toString(),
      capacity: vault.global.capacity.toString(),
      ratePerSecond: vault.global.ratePerSecond.toString(),
    };
    panel.delaySeconds = Number(vault.delaySeconds);
    panel.paused = vault.paused;
  } catch (error) {
    panel.error = `EVM node: ${(error as Error).message.split('\n')[0]}`;
  }
  if (apiUrl !== undefined) {
    try {
      const response = await fetch(new URL('/v1/bridge/checkpoints/latest', apiUrl), {
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (response.ok) {
        const body = (await response.json()) as { height: number; withdrawals: number };
        panel.checkpoint = { height: body.height, withdrawals: body.withdrawals };
      }
    } catch {
      // No checkpoint yet, or the validator is down: the panel says none.
    }
  }
  return panel;
}
