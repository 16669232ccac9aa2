/**
 * `node bench/trace-report.ts DIR [--phase NAME]`: reads the trace lines a run wrote with
 * `PALISADE_TRACE=DIR` (src/node/trace.ts; validators `v<i>`, the load generator `bench`) and
 * prints, for the traced transactions sent inside the phase's window (the last `half load` window
 * by default), p50 and p90 of each step from the load generator's send to its sight of the block on
 * validator 0's stream, and per view from the leader's proposal start.
 *
 * Steps of a transaction (node X received it over HTTP, leader L proposed the block carrying it):
 *   batch window     sent → posted (the load generator's batching)
 *   http             posted → X's handler
 *   X admission      X's handler → admitted at X (precheck, signature pool, admit)
 *   relay to L       admitted at X → admitted at L (gossip flush, TLS, L's signature pool); 0 when X = L
 *   wait for block   admitted at L → L's selection for the block that carried it
 *   missed views     proposals L or others started after the transaction reached their mempool,
 *                    without it (counted, not timed)
 *   leader vote sync L's selection → L's proposal out (payload encoding, L's notarize vote synced)
 *   to finalized@v0  L's proposal out → finalization at v0 (notarize round, finalize round)
 *   execution@v0     finalization → executed at v0
 *   stream           executed at v0 → seen by the load generator
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Line {
  t: number;
  at: string;
  event: string;
  [field: string]: unknown;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function main(args: string[]): void {
  const directory = args[0];
  if (directory === undefined) throw new Error('usage: node bench/trace-report.ts DIR [--phase NAME]');
  const phaseAt = args.indexOf('--phase');
  const phase = phaseAt === -1 ? 'half load' : String(args[phaseAt + 1]);
  const lines: Line[] = [];
  for (const file of readdirSync(directory)) {
    if (!file.endsWith('.jsonl')) continue;
    for (const text of readFileSync(join(directory, file), 'utf8').split('\n'))
      if (text !== '') lines.push(JSON.parse(text) as Line);
  }
  lines.sort((a, b) => a.t - b.t);
  const windows = lines.filter((line) => line.event === 'window' && line.phase === phase);
  const window = windows.at(-1);
  if (window === undefined) throw new Error(`no '${phase}' window in the trace`);
  const from = window.from as number;
  const to = window.to as number;

  const ids = (line: Line) => (line.ids as string[] | undefined) ?? [];
  /** First time of `event` per id (optionally at one process). */
  const firstById = (event: string, at?: string, field: 't' | 'receivedAt' = 't') => {
    const out = new Map<string, { t: number; line: Line }>();
    for (const line of lines) {
      if (line.event !== event || (at !== undefined && line.at !== at)) continue;
      for (const id of ids(line).concat(line.id === undefined ? [] : [line.id as string]))
        if (!out.has(id)) out.set(id, { t: field === 't' ? line.t : (line[field] as number), line });
    }
    return out;
  };
  const sent = firstById('sent', 'bench');
  const posted = firstById('posted', 'bench');
  const seen = firstById('seen', 'bench');
  const httpReceived = firstById('http-admitted', undefined, 'receivedAt');
  const httpAdmitted = firstById('http-admitted');
  const executedAt0 = firstById('executed', 'v0');
  /** Admission at each validator, HTTP or gossip. */
  const admittedAt = new Map<string, Map<string, { t: number; receivedAt: number }>>();
  for (const line of lines) {
    if (line.event !== 'http-admitted' && line.event !== 'gossip-admitted') continue;
    let perNode = admittedAt.get(line.at);
    if (perNode === undefined) {
      perNode = new Map();
      admittedAt.set(line.at, perNode);
    }
    for (const id of ids(line))
      if (!perNode.has(id)) perNode.set(id, { t: line.t, receivedAt: line.receivedAt as number });
  }
  const selected = firstById('propose-selected');
  const proposalOut = new Map<number, Line>();
  const proposeStarts: Line[] = [];
  for (const line of lines) {
    if (line.event === 'proposal-out' && !proposalOut.has(line.view as number))
      proposalOut.set(line.view as number, line);
    if (line.event === 'propose-selected') proposeStarts.push(line);
  }
  const finalizedAt0 = new Map<number, number>();
  const votesAt0 = new Map<string, number>();
  for (const line of lines) {
    if (line.at !== 'v0') continue;
    if (line.event === 'finalized' && !finalizedAt0.has(line.view as number))
      finalizedAt0.set(line.view as number, line.t);
    if (line.event === 'vote-out') {
      const key = `${line.kind}:${line.view}`;
      if (!votesAt0.has(key)) votesAt0.set(key, line.t);
    }
  }

  const steps: Record<string, number[]> = {};
  const add = (name: string, value: number) => {
    if (!Number.isFinite(value)) return;
    const values = steps[name] ?? [];
    values.push(value);
    steps[name] = values;
  };
  let missedTotal = 0;
  let relayed = 0;
  let traced = 0;
  for (const [id, send] of sent) {
    if (send.t < from || send.t >= to) continue;
    const select = selected.get(id);
    const seenAt = seen.get(id)?.t;
    if (select === undefined || seenAt === undefined) continue;
    traced++;
    const leader = select.line.at;
    const view = select.line.view as number;
    const xAt = httpAdmitted.get(id);
    const atLeader = admittedAt.get(leader)?.get(id);
    add('total (sent → seen)', seenAt - send.t);
    add('batch window (sent → posted)', (posted.get(id)?.t ?? Number.NaN) - send.t);
    add(
      'http (posted → handler)',
      (httpReceived.get(id)?.t ?? Number.NaN) - (posted.get(id)?.t ?? Number.NaN),
    );
    add(
      'admission at X (handler → admitted)',
      (xAt?.t ?? Number.NaN) - (httpReceived.get(id)?.t ?? Number.NaN),
    );
    if (xAt !== undefined && atLeader !== undefined) {
      if (xAt.line.at !== leader) {
        relayed++;
        add('relay to leader (admitted at X → at L), relayed only', atLeader.t - xAt.t);
        add('  of it: L received → L admitted', atLeader.t - atLeader.receivedAt);
      }
      add('relay to leader (0 when X = L)', atLeader.t - xAt.t);
      add('wait for the block (admitted at L → selected)', select.t - atLeader.t);
      // Proposals that began selecting after the transaction reached their leader's mempool and
      // did not take it.
      let missed = 0;
      for (const start of proposeStarts) {
        if (start.view === view) continue;
        const admitted = admittedAt.get(start.at)?.get(id);
        if (admitted !== undefined && start.t > admitted.t && start.t < select.t) missed++;
      }
      missedTotal += missed;
      add('views missed after admission at their leader', missed);
    }
    const out = proposalOut.get(view);
    add('leader: selected → proposal out', (out?.t ?? Number.NaN) - select.t);
    const notarizeAt0 = votesAt0.get(`0:${view}`);
    const finalizeAt0 = votesAt0.get(`2:${view}`);
    const finalAt0 = finalizedAt0.get(view);
    add('proposal out → v0 notarize vote out', (notarizeAt0 ?? Number.NaN) - (out?.t ?? Number.NaN));
    add('v0 notarize vote → v0 finalize vote out', (finalizeAt0 ?? Number.NaN) - (notarizeAt0 ?? Number.NaN));
    add('v0 finalize vote → finalized at v0', (finalAt0 ?? Number.NaN) - (finalizeAt0 ?? Number.NaN));
    add('proposal out → finalized at v0', (finalAt0 ?? Number.NaN) - (out?.t ?? Number.NaN));
    add('finalized → executed at v0', (executedAt0.get(id)?.t ?? Number.NaN) - (finalAt0 ?? Number.NaN));
    add('executed at v0 → seen by the load generator', seenAt - (executedAt0.get(id)?.t ?? Number.NaN));
  }
  // Per view: from one proposal's selection to the next (the block interval) and its parts.
  const views = [...proposalOut.keys()].sort((a, b) => a - b);
  const selectedByView = new Map<number, Line>();
  for (const line of proposeStarts)
    if (!selectedByView.has(line.view as number)) selectedByView.set(line.view as number, line);
  for (const view of views) {
    const out = proposalOut.get(view)!;
    if (out.t < from || out.t >= to) continue;
    const select = selectedByView.get(view);
    if (select === undefined) continue;
    add('view: propose start → selected (waits)', select.t - (select.startedAt as number));
    add('view: transactions per block', select.transactions as number);
    const next = proposalOut.get(view + 1);
    if (next !== undefined) add('view: proposal out → next proposal out', next.t - out.t);
  }

  const format = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '–');
  console.log(
    `phase '${phase}': ${traced} traced transactions (${relayed} relayed to the leader), ${missedTotal} missed views in all`,
  );
  console.log(`| step | p50 ms | p90 ms | mean ms | samples |`);
  console.log(`| ---- | ------ | ------ | ------- | ------- |`);
  for (const [name, values] of Object.entries(steps)) {
    const sorted = [...values].sort((a, b) => a - b);
    const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
    console.log(
      `| ${name} | ${format(percentile(sorted, 50))} | ${format(percentile(sorted, 90))} | ${format(mean)} | ${sorted.length} |`,
    );
  }
}

main(process.argv.slice(2));
