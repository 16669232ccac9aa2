/**
 * A broken invariant is a bug: it crashes loudly instead of letting a wrong state continue.
 * Input errors are typed errors and business outcomes are returned statuses; neither uses this.
 */
export class InvariantError extends Error {
  readonly code = 'INVARIANT';
}

export function invariant(condition: unknown, why: string): asserts condition {
  if (!condition) throw new InvariantError(why);
}
