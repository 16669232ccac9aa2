// Types for the two untyped packages the privacy layer uses (only the calls we make).
declare module 'circomlibjs' {
  interface PoseidonField {
    toObject(element: Uint8Array): bigint;
  }
  interface Poseidon {
    (inputs: readonly bigint[]): Uint8Array;
    F: PoseidonField;
  }
  export function buildPoseidon(): Promise<Poseidon>;
}

declare module 'snarkjs' {
  export interface Groth16Proof {
    pi_a: string[];
    pi_b: string[][];
    pi_c: string[];
    protocol: string;
    curve: string;
  }
  export const groth16: {
    fullProve(
      input: Record<string, unknown>,
      wasmFile: string | Uint8Array,
      zkeyFile: string | Uint8Array,
      logger?: unknown,
      wtnsCalcOptions?: unknown,
      proverOptions?: { singleThread?: boolean },
    ): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    verify(vkey: unknown, publicSignals: readonly string[], proof: Groth16Proof): Promise<boolean>;
  };
  export const wtns: {
    calculate(
      input: Record<string, unknown>,
      wasmFile: string | Uint8Array,
      out: { type: 'mem' },
    ): Promise<void>;
  };
  export const r1cs: {
    info(file: string): Promise<{ nConstraints: number; nPubInputs: number; nPrvInputs: number }>;
  };
}
