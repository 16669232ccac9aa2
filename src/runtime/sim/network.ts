/**
 * A simulated network of validators. Every link delivers after `latencyMs` plus uniform jitter,
 * drops a message with probability `lossPerMille / 1000`, and carries nothing across a partition.
 * Randomness comes from the run's seeded generator and time from its scheduler, so a seed fixes
 * every delivery.
 *
 * A validator index (`PeerId`) usually has one endpoint; the twins adversary gives one index two
 * endpoints that each see only part of the network (`reach`). Messages in flight to an endpoint
 * that crashes are lost, as TCP connections are on a real crash.
 */
import { invariant } from '../../codec/invariant.ts';
import type { Network, PeerId } from '../types.ts';
import type { SimRng } from './rng.ts';
import type { Scheduler } from './scheduler.ts';

export interface LinkModel {
  latencyMs: number;
  jitterMs: number;
  lossPerMille: number;
}

export interface SimEndpoint extends Network {
  readonly endpoint: number;
  readonly peer: PeerId;
}

interface EndpointState {
  endpoint: number;
  peer: PeerId;
  handler: ((from: PeerId, message: Uint8Array) => void) | undefined;
  up: boolean;
  incarnation: number;
}

/** Called for every delivered message; the simulator folds these into its trace hash. */
export type DeliveryObserver = (fromPeer: PeerId, toEndpoint: number, message: Uint8Array) => void;

/** Largest message the simulated links carry, as the real transport's frame cap would. */
export const SIM_MAX_MESSAGE_BYTES = 8 << 20;

export class SimNetwork {
  readonly #scheduler: Scheduler;
  readonly #rng: SimRng;
  readonly #endpoints: EndpointState[] = [];
  #link: LinkModel;
  /** Partition group of each endpoint; endpoints in different groups cannot talk. */
  #group: number[] | undefined;
  /** Static reachability (twins): `reach(a, b)` false means a's messages never reach b. */
  #reach: (fromEndpoint: number, toEndpoint: number) => boolean = () => true;
  /** Drops the messages it returns false for (a fault that cuts off one kind of message). */
  #admit: ((message: Uint8Array) => boolean) | undefined;
  #observer: DeliveryObserver | undefined;
  #sent = 0;
  #delivered = 0;

  constructor(scheduler: Scheduler, rng: SimRng, link: LinkModel) {
    this.#scheduler = scheduler;
    this.#rng = rng;
    this.#link = link;
  }

  setLink(link: LinkModel): void {
    this.#link = link;
  }

  /** `groups[e]` is endpoint e's side of a partition; `undefined` heals every partition. */
  setPartition(groups: number[] | undefined): void {
    this.#group = groups;
  }

  setReach(reach: (fromEndpoint: number, toEndpoint: number) => boolean): void {
    this.#reach = reach;
  }

  /** Links carry only the messages `admit` accepts; `undefined` lets everything through again. */
  setFilter(admit: ((message: Uint8Array) => boolean) | undefined): void {
    this.#admit = admit;
  }

  observe(observer: DeliveryObserver): void {
    this.#observer = observer;
  }

  stats(): { sent: number; delivered: number } {
    return { sent: this.#sent, delivered: this.#delivered };
  }

  /** Adds an endpoint for validator `peer` and returns its `Network` face. */
  addEndpoint(peer: PeerId): SimEndpoint {
    const state: EndpointState = {
      endpoint: this.#endpoints.length,
      peer,
      handler: undefined,
      up: true,
      incarnation: 0,
    };
    this.#endpoints.push(state);
    const network: SimEndpoint = {
      endpoint: state.endpoint,
      peer,
      send: (to, message) => this.#send(state, to, message),
      broadcast: (message) => {
        const peers = new Set<PeerId>();
        for (const other of this.#endpoints) if (other.peer !== peer) peers.add(other.peer);
        for (const to of [...peers].sort((a, b) => a - b)) this.#send(state, to, message);
      },
      onMessage: (handler) => {
        state.handler = handler;
      },
    };
    return network;
  }

  /** Takes an endpoint down (crash) or up (restart); a restart starts a fresh incarnation. */
  setUp(endpoint: number, up: boolean): void {
    const state = this.#endpoints[endpoint];
    invariant(state !== undefined, 'no such endpoint');
    if (state.up === up) return;
    state.up = up;
    state.incarnation++;
    if (!up) state.handler = undefined;
  }

  #send(from: EndpointState, to: PeerId, message: Uint8Array): void {
    if (!from.up || !(message instanceof Uint8Array) || message.length > SIM_MAX_MESSAGE_BYTES) return;
    for (const target of this.#endpoints) {
      if (target.peer !== to || target === from) continue;
      this.#sent++;
      if (!this.#reach(from.endpoint, target.endpoint)) continue;
      if (this.#group !== undefined && this.#group[from.endpoint] !== this.#group[target.endpoint]) continue;
      if (this.#admit !== undefined && !this.#admit(message)) continue;
      if (this.#link.lossPerMille > 0 && this.#rng.chance(this.#link.lossPerMille)) continue;
      const jitter = this.#link.jitterMs > 0 ? this.#rng.nextInt(this.#link.jitterMs + 1) : 0;
      const incarnation = target.incarnation;
      const fromPeer = from.peer;
      this.#scheduler.schedule(this.#link.latencyMs + jitter, () => {
        if (!target.up || target.incarnation !== incarnation || target.handler === undefined) return;
        this.#delivered++;
        this.#observer?.(fromPeer, target.endpoint, message);
        target.handler(fromPeer, message);
      });
    }
  }
}
