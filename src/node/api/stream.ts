/**
 * The WebSocket stream behind `/v1/stream`: finalized blocks, fills and prices, pushed as the
 * node applies each block.
 *
 * Protocol (JSON text frames):
 *   client → server   {"op":"subscribe","topics":["blocks","fills"]}   or "unsubscribe"
 *                     (topics may also be given at connect time: /v1/stream?topics=blocks,fills)
 *   server → client   {"type":"subscribed","topics":[...]}             the current subscription
 *                     {"type":"error","error":{"code","message"}}      a bad client frame
 *                     {"topic":"blocks","block":{...},"finalityLatencyMs":12,"proposalHeight":9}
 *                     {"topic":"fills","fills":[...]}
 *                     {"topic":"prices","height":7,"prices":[...]}
 *                     {"topic":"findings","findings":[...]}            the monitor's new findings
 *
 * Bounds: at most `maxSubscribers` sockets (the upgrade is refused with 503 beyond it); a client
 * frame is at most `maxClientFrameBytes` (ws closes the socket with 1009 above it); each socket may
 * have at most `maxBufferedBytes` unsent, and a subscriber that falls further behind is closed
 * with 1013 ("try again later") rather than letting its backlog grow in our memory: a slow
 * consumer can cost itself its stream, never the node its memory. Sockets that stop answering
 * pings are terminated.
 */
import type { NodeEventTopic, StreamEvent } from '../view.ts';

/** What the hub needs of a `ws` WebSocket (the `ws` package ships no types of its own). */
export interface StreamSocket {
  readonly readyState: number;
  readonly OPEN: number;
  readonly bufferedAmount: number;
  send(text: string): void;
  close(code: number, reason: string): void;
  terminate(): void;
  ping(): void;
  on(event: 'message', listener: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): void;
  on(event: 'pong' | 'close' | 'error', listener: () => void): void;
}

export const STREAM_TOPICS: readonly NodeEventTopic[] = Object.freeze([
  'blocks',
  'fills',
  'prices',
  'findings',
]);

export interface StreamLimits {
  maxSubscribers: number;
  maxBufferedBytes: number;
  maxClientFrameBytes: number;
  heartbeatMs: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = Object.freeze({
  maxSubscribers: 256,
  maxBufferedBytes: 4 * 1024 * 1024,
  maxClientFrameBytes: 4096,
  heartbeatMs: 30_000,
});

/** WebSocket close codes (RFC 6455 §7.4.1 and the IANA registry). */
const CLOSE_POLICY_VIOLATION = 1008;
const CLOSE_TRY_AGAIN_LATER = 1013;
const CLOSE_GOING_AWAY = 1001;

interface Subscriber {
  readonly socket: StreamSocket;
  readonly topics: Set<NodeEventTopic>;
  alive: boolean;
}

export interface StreamHub {
  /** Whether another subscriber fits; checked before the upgrade so a refusal is a plain 503. */
  hasRoom(): boolean;
  accept(socket: StreamSocket, topics: readonly NodeEventTopic[]): void;
  publish(event: StreamEvent): void;
  readonly subscribers: number;
  /** Subscribers closed for falling behind, since start. */
  readonly slowConsumersDropped: number;
  close(): void;
}

/** Parses a comma-separated topic list; undefined when any entry is not a topic. */
export function parseTopics(list: string): NodeEventTopic[] | undefined {
  if (list === '') return [];
  const topics: NodeEventTopic[] = [];
  for (const entry of list.split(',')) {
    if (!STREAM_TOPICS.includes(entry as NodeEventTopic)) return undefined;
    if (!topics.includes(entry as NodeEventTopic)) topics.push(entry as NodeEventTopic);
  }
  return topics;
}

type ClientFrame = { op: 'subscribe' | 'unsubscribe'; topics: NodeEventTopic[] };

/** Reads a client frame strictly: exactly `op` and `topics`, known values only. */
function parseClientFrame(text: string): ClientFrame | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'the frame is not JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return 'the frame is not an object';
  const keys = Object.keys(value);
  const unknown = keys.find((key) => key !== 'op' && key !== 'topics');
  if (unknown !== undefined) return `unknown field '${unknown}'`;
  const { op, topics } = value as { op?: unknown; topics?: unknown };
  if (op !== 'subscribe' && op !== 'unsubscribe') return "op must be 'subscribe' or 'unsubscribe'";
  if (!Array.isArray(topics) || topics.length > STREAM_TOPICS.length) return 'topics must be a short array';
  for (const topic of topics) {
    if (!STREAM_TOPICS.includes(topic as NodeEventTopic)) return `unknown topic ${JSON.stringify(topic)}`;
  }
  return { op, topics: topics as NodeEventTopic[] };
}

export function createStreamHub(limits: StreamLimits): StreamHub {
  const subscribers = new Set<Subscriber>();
  let slowConsumersDropped = 0;

  function send(subscriber: Subscriber, text: string): void {
    const { socket } = subscriber;
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount + Buffer.byteLength(text) > limits.maxBufferedBytes) {
      slowConsumersDropped += 1;
      subscribers.delete(subscriber);
      socket.close(CLOSE_TRY_AGAIN_LATER, 'slow consumer: too far behind the stream');
      // A consumer that stopped reading will not read the close frame either.
      setTimeout(() => socket.terminate(), 1000).unref();
      return;
    }
    socket.send(text);
  }

  function confirm(subscriber: Subscriber): void {
    send(subscriber, JSON.stringify({ type: 'subscribed', topics: [...subscriber.topics].sort() }));
  }

  const heartbeat = setInterval(() => {
    for (const subscriber of subscribers) {
      if (!subscriber.alive) {
        subscribers.delete(subscriber);
        subscriber.socket.terminate();
        continue;
      }
      subscriber.alive = false;
      subscriber.socket.ping();
    }
  }, limits.heartbeatMs);
  heartbeat.unref();

  return {
    hasRoom: () => subscribers.size < limits.maxSubscribers,
    accept(socket, topics) {
      if (subscribers.size >= limits.maxSubscribers) {
        socket.close(CLOSE_TRY_AGAIN_LATER, 'too many subscribers');
        return;
      }
      const subscriber: Subscriber = { socket, topics: new Set(topics), alive: true };
      subscribers.add(subscriber);
      socket.on('pong', () => {
        subscriber.alive = true;
      });
      socket.on('close', () => subscribers.delete(subscriber));
      socket.on('error', () => subscribers.delete(subscriber));
      socket.on('message', (data, isBinary) => {
        if (isBinary) {
          socket.close(CLOSE_POLICY_VIOLATION, 'binary frames are not accepted');
          return;
        }
        const frame = parseClientFrame(String(data));
        if (typeof frame === 'string') {
          send(
            subscriber,
            JSON.stringify({ type: 'error', error: { code: 'INVALID_REQUEST', message: frame } }),
          );
          return;
        }
        for (const topic of frame.topics) {
          if (frame.op === 'subscribe') subscriber.topics.add(topic);
          else subscriber.topics.delete(topic);
        }
        confirm(subscriber);
      });
      confirm(subscriber);
    },
    publish(event) {
      if (subscribers.size === 0) return;
      // Serialized once, whatever the number of subscribers.
      const text = JSON.stringify(event);
      for (const subscriber of subscribers) {
        if (subscriber.topics.has(event.topic)) send(subscriber, text);
      }
    },
    get subscribers() {
      return subscribers.size;
    },
    get slowConsumersDropped() {
      return slowConsumersDropped;
    },
    close() {
      clearInterval(heartbeat);
      for (const subscriber of subscribers) subscriber.socket.close(CLOSE_GOING_AWAY, 'server closing');
      subscribers.clear();
    },
  };
}
