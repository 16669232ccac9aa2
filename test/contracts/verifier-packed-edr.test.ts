/**
 * The packed price-report entry point on a second EVM: Hardhat's EDR (test/contracts/edr-node.ts,
 * JSON-RPC on 127.0.0.1). It accepts the certificate, refuses a short calldata (MalformedCalldata,
 * a reverted transaction) and a forged signature as in @ethereumjs/vm, and both EVMs charge the same execution gas for the call
 * (EDR's receipt gas less the 21,000 base and EIP-2028 calldata), so the figure in the gas table
 * is not one implementation's accident.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Interface, type InterfaceAbi } from 'ethers';
import { type Abi, BaseError, createPublicClient, createWalletClient, type Hex, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  evmFrostSignature,
  evmPackedPriceReport,
  PACKED_PRICE_REPORT_FUNCTION,
} from '../../src/interop/evm/certificates.ts';
import { compiledContracts } from '../../src/interop/evm/compile.ts';
import { createEvmHarness } from '../../src/interop/evm/harness.ts';
import { priceReportDigest } from '../../src/interop/price-certificate.ts';
import { type EdrNode, startEdrNode } from './edr-node.ts';
import { domainOf, frostSign, keysetOf, keysetOne, sampleReport } from './fixtures.ts';

let node: EdrNode | undefined;
before(async () => {
  node = await startEdrNode();
});
after(() => node?.close());

const hex = (bytes: Uint8Array): Hex => `0x${Buffer.from(bytes).toString('hex')}`;

/** EIP-2028: 4 gas a zero byte, 16 a non-zero one. */
function calldataGas(data: Uint8Array): bigint {
  let gas = 0n;
  for (const byte of data) gas += byte === 0 ? 4n : 16n;
  return gas;
}

test('EDR: the packed entry point accepts, refuses, and costs the execution gas @ethereumjs/vm measures', async () => {
  const edr = node!;
  const transport = http(edr.url, { retryCount: 0 });
  const publicClient = createPublicClient({ transport });
  const wallet = createWalletClient({ transport });
  const chain = {
    id: Number(edr.chainId),
    name: 'edr',
    nativeCurrency: { name: 'E', symbol: 'E', decimals: 18 },
    rpcUrls: { default: { http: [edr.url] } },
  } as const;
  const sender = privateKeyToAccount(edr.accounts[0]!).address;
  const artifact = compiledContracts().contracts.get('PalisadeVerifier')!;
  const deployHash = await wallet.deployContract({
    abi: artifact.abi as Abi,
    bytecode: hex(artifact.bytecode),
    args: [1n, hex(keysetOne[0]!.groupPublicKey)] as never,
    account: sender,
    chain,
  });
  const address = (await publicClient.getTransactionReceipt({ hash: deployHash })).contractAddress!;
  const domain = {
    chainId: Number(edr.chainId),
    verifyingContract: Uint8Array.from(Buffer.from(address.slice(2), 'hex')),
  };
  const report = sampleReport(1);
  const signature = evmFrostSignature(frostSign(keysetOne, priceReportDigest(report, domain)));
  const data = evmPackedPriceReport(keysetOf(keysetOne), report, signature);
  const TRUE = `0x${'0'.repeat(63)}1`;
  const FALSE = `0x${'0'.repeat(64)}`;
  assert.equal((await publicClient.call({ to: address, data: hex(data) })).data, TRUE);
  const forged = evmPackedPriceReport(keysetOf(keysetOne), report, { ...signature, z: signature.z ^ 1n });
  assert.equal((await publicClient.call({ to: address, data: hex(forged) })).data, FALSE);
  // A refused call is an error as on a public node (code 3, the revert data beside it), never a
  // result: the short calldata's refusal is the MalformedCalldata(200) error, and as a
  // transaction it reverts.
  const short = data.subarray(0, data.length - 1);
  const iface = new Interface(artifact.abi as InterfaceAbi);
  await assert.rejects(
    publicClient.call({ to: address, data: hex(short) }),
    (error: Error) =>
      error instanceof BaseError &&
      error.walk(
        (e) => (e as { data?: unknown }).data === iface.encodeErrorResult('MalformedCalldata', [200n]),
      ) !== null,
  );
  const shortHash = await wallet.sendTransaction({
    to: address,
    data: hex(short),
    account: sender,
    chain,
    gas: 100_000n,
  });
  assert.equal((await publicClient.getTransactionReceipt({ hash: shortHash })).status, 'reverted');

  const hash = await wallet.sendTransaction({ to: address, data: hex(data), account: sender, chain });
  const receipt = await publicClient.getTransactionReceipt({ hash });
  assert.equal(receipt.status, 'success');
  const edrExecution = receipt.gasUsed - 21_000n - calldataGas(data);

  // The same call in @ethereumjs/vm (another address, so another digest and signature; gas does
  // not depend on the values).
  const evm = await createEvmHarness({ chainId: edr.chainId });
  const verifier = await evm.deploy(await evm.account('deployer'), 'PalisadeVerifier', [
    1n,
    keysetOne[0]!.groupPublicKey,
  ]);
  const local = evmFrostSignature(frostSign(keysetOne, priceReportDigest(report, domainOf(evm, verifier))));
  const call = await verifier.callData(
    evmPackedPriceReport(keysetOf(keysetOne), report, local),
    PACKED_PRICE_REPORT_FUNCTION,
  );
  assert.equal(call.value![0], true);
  assert.equal(edrExecution, call.executionGas, `EDR ${edrExecution}, @ethereumjs/vm ${call.executionGas}`);
});
