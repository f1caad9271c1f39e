/**
 * `npx tsx bench/what-if.ts`: where DynamoDB Local's time goes in jobline's worker. Runs the throughput
 * scenario of one job kind (WHATIF_KIND: transfer or webhook, default both) with jobline, Powertools and
 * variants of jobline that each leave one thing out (its state writes' timeline entry, its list index
 * move, its table's two indexes) or, for transfers, split each group commit in two transactions sent at once. The variants are not jobline (each drops a feature); they say what a
 * feature costs here, and where a faster design would have to save. Prints records/s (median of rounds)
 * and CPU per record of the worker and of DynamoDB Local, with the ratio of each design to Powertools.
 *
 * Knobs: WHATIF_RECORDS (deliveries per design, default 2000), WHATIF_ROUNDS (default 4), WHATIF_DUP
 * (duplicate share, default 0), WHATIF_PEERS_ONLY=1 (jobline and Powertools alone, no variants).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startDynamoDbLocal } from '../local/emulators/dynamodb-local';
import type { GroupVerdict } from '../shared/store/cancellation';
import { LIST_INDEX } from '../shared/store/job-record';
import { JobStore } from '../shared/store/job-store';
import { benchDynamoClient } from './clients';
import { joblineDesign, powertoolsDesign, type Variant } from './designs';
import { startReceiver } from './receiver';
import { median } from './stats';
import { runScenario } from './worker-throughput';
import type { Kind } from './workload';

const num = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);

interface Update {
  UpdateExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
}

/** Removes one SET clause (and the names and values only it used) from an update. */
function withoutClause(update: Update | undefined, clause: string, names: string[], values: string[]): void {
  if (!update?.UpdateExpression?.includes(clause)) return;
  update.UpdateExpression = update.UpdateExpression.replace(`, ${clause}`, '').replace(`${clause}, `, '');
  for (const n of names) delete update.ExpressionAttributeNames?.[n];
  for (const v of values) delete update.ExpressionAttributeValues?.[v];
}

const NO_TIMELINE = (u: Update | undefined) =>
  withoutClause(u, '#history = list_append(if_not_exists(#history, :noHistory), :historyEntry)', ['#history'], [':noHistory', ':historyEntry']);
const NO_LIST_MOVE = (u: Update | undefined) => withoutClause(u, '#listKey = :movedListKey', ['#listKey'], [':movedListKey']);

/** jobline's store, with every update it sends (alone or in a transaction) edited by `edits` first. */
function editedStore(edits: ((u: Update | undefined) => void)[]): (client: DynamoDBClient, table: string) => JobStore {
  return (client, table) => {
    const edited = Object.create(client) as DynamoDBClient;
    const send = client.send.bind(client) as (command: { input: { TransactItems?: { Update?: Update }[] } & Update }) => Promise<unknown>;
    (edited as unknown as { send: typeof send }).send = (command) => {
      for (const edit of edits) {
        edit(command.input);
        for (const item of command.input.TransactItems ?? []) edit(item.Update);
      }
      return send(command);
    };
    return new JobStore(edited, table);
  };
}

/** jobline's store, with each group commit of four jobs or more sent as two transactions side by side. */
class SplitCommitStore extends JobStore {
  override async completeTransactionalGroup(jobs: Parameters<JobStore['completeTransactionalGroup']>[0]): Promise<GroupVerdict[] | 'committed'> {
    if (jobs.length < 4) return super.completeTransactionalGroup(jobs);
    const halves = [jobs.slice(0, Math.ceil(jobs.length / 2)), jobs.slice(Math.ceil(jobs.length / 2))];
    const answers = await Promise.all(halves.map((half) => super.completeTransactionalGroup(half)));
    if (answers.every((a) => a === 'committed')) return 'committed';
    // A half that committed: its jobs are done, as a duplicate's would be.
    return answers.flatMap((a, i) => (a === 'committed' ? halves[i]!.map((): GroupVerdict => ({ kind: 'duplicate' })) : a));
  }
}

const VARIANTS: Variant[] = [
  { name: 'without its timeline entries', store: editedStore([NO_TIMELINE]) },
  { name: 'without its list index move', store: editedStore([NO_LIST_MOVE]) },
  { name: 'on a table without its sweep index', indexes: [LIST_INDEX] },
  { name: 'on a table without indexes', indexes: [] },
  { name: 'without timeline or indexes', store: editedStore([NO_TIMELINE, NO_LIST_MOVE]), indexes: [] },
];
/** Transactional jobs only: does DynamoDB Local run two transactions at once (two cores)? */
const TRANSFER_VARIANTS: Variant[] = [{ name: 'group commit in two transactions at once', store: (client, table) => new SplitCommitStore(client, table) }];

async function main() {
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  process.env.JOBLINE_LOG_LEVEL = 'error';
  process.env.JOBLINE_WEBHOOK_ALLOW ??= 'loopback';
  const kinds: Kind[] = process.env.WHATIF_KIND ? [process.env.WHATIF_KIND as Kind] : ['transfer', 'webhook'];
  const dynamodb = await startDynamoDbLocal();
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamodb.endpoint;
  const receiver = await startReceiver();
  try {
    const shared = { admin: benchDynamoClient(), receiver };
    for (const kind of kinds) {
      const variants = kind === 'transfer' ? [...VARIANTS, ...TRANSFER_VARIANTS] : VARIANTS;
      const designs = [joblineDesign(shared), powertoolsDesign(shared), ...(process.env.WHATIF_PEERS_ONLY ? [] : variants.map((v) => joblineDesign(shared, v)))];
      // As bench/run.ts: DynamoDB Local's JVM is far slower on its first thousands of requests.
      await runScenario({ kind, duplicateShare: 0.3, records: 1000, rounds: 2 }, designs, { receiverUrl: receiver.url, seedBase: 1 });
      const scenario = { kind, duplicateShare: num('WHATIF_DUP', 0), records: num('WHATIF_RECORDS', 2000), rounds: num('WHATIF_ROUNDS', 4) };
      const result = await runScenario(scenario, designs, { receiverUrl: receiver.url, seedBase: 500, dynamodbPid: dynamodb.process.pid });
      const peer = median(result.designs.powertools!.roundRates);
      console.log(`\n${kind}, ${Math.round(scenario.duplicateShare * 100)}% duplicates, ${scenario.records} deliveries per design in ${scenario.rounds} rounds:`);
      console.log('| design | records/s | ratio to Powertools | worker CPU ms/record | DynamoDB Local CPU ms/record | each job once |\n| --- | ---: | ---: | ---: | ---: | --- |');
      for (const [name, t] of Object.entries(result.designs)) {
        const rate = median(t.roundRates);
        const perRecord = (ms: number) => (ms / t.records).toFixed(2);
        console.log(
          `| ${name} | ${rate.toFixed(0)} | ${(rate / peer).toFixed(2)}x | ${perRecord(t.workerCpuMs)} | ${perRecord(t.dynamodbCpuMs)} | ${t.checks.every((c) => c.ok) ? 'OK' : 'WRONG'} |`,
        );
      }
    }
  } finally {
    await receiver.close();
    await dynamodb.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
