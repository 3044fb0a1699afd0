import type { CommandModule } from 'yargs';
import { CONNECTION_OPTIONS, connectionFromArgs, type ConnectionArgs } from '../connection-options.js';

interface TargetsArgs extends ConnectionArgs {
  tag?: string[];
  name?: string;
  json: boolean;
}

export const targetsCommand: CommandModule<object, TargetsArgs> = {
  command: 'targets',
  describe: 'List the managed nodes sessions can reach (id, Name tag, platform, ping status, agent)',
  builder: (y) =>
    y
      .option('tag', { type: 'string', array: true, describe: 'Only nodes with this tag: Key=Value (repeat to require several)' })
      .option('name', { type: 'string', describe: 'Only nodes with this Name tag' })
      .option('json', { type: 'boolean', default: false, describe: 'One JSON array on stdout instead of the table' })
      .options({
        ...CONNECTION_OPTIONS,
        proxy: { type: 'string', describe: 'Outbound proxy for the API: http://[user:pass@]host:port, or none (default: HTTPS_PROXY/NO_PROXY)' },
      })
      .check((argv) => {
        const bad = argv.tag?.find((pair) => pair.indexOf('=') <= 0);
        if (bad !== undefined) throw new Error(`--tag must be Key=Value, got ${JSON.stringify(bad)}`);
        return true;
      })
      .example('$0 targets', 'every managed node of the account and region')
      .example('$0 targets --tag env=prod --json', 'the prod nodes, as JSON'),
  handler: async (args) => {
    // Loaded here, not at the top: `--help` and completion need none of it.
    const [{ createSsmSessionApi }, { configuredRegion }, { explainError, missingRegionError }, { formatNodeTable, listNodes }, { saveTargets }] = await Promise.all([
      import('../../aws/ssm-session-api.js'),
      import('../../aws/region.js'),
      import('../explain-error.js'),
      import('../node-list.js'),
      import('../target-cache.js'),
    ]);
    const connection = connectionFromArgs(args);
    if ((await configuredRegion(connection)) === undefined) throw missingRegionError(args.profile);
    const api = createSsmSessionApi(connection);
    try {
      const tags = Object.fromEntries((args.tag ?? []).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
      const listing = await listNodes(api, { tags, ...(args.name === undefined ? {} : { name: args.name }) }).catch(async (error: unknown) => {
        throw await explainError(error, { ...(args.profile === undefined ? {} : { profile: args.profile }) });
      });
      await saveTargets(listing.nodes.map((node) => ({ id: node.id, ...(node.name === undefined ? {} : { name: node.name }) })));
      if (listing.namesUnavailable !== undefined) process.stderr.write(`ssm-tunnel: ${listing.namesUnavailable}\n`);
      if (args.json) process.stdout.write(`${JSON.stringify(listing.nodes, null, 2)}\n`);
      else if (listing.nodes.length === 0) process.stderr.write('No managed nodes match.\n');
      else process.stdout.write(`${formatNodeTable(listing.nodes)}\n`);
    } finally {
      api.destroy();
    }
  },
};
