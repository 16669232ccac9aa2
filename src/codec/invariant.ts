/** `invariant` lives in src/std (DESIGN.md); codec's importers keep this path. */
export { InvariantError, invariant } from '../std/invariant.ts';
