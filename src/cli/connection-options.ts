import type { AwsConnectionOptions } from '../aws/session-api.js';

/*
 * How every command that calls AWS is told where and how: --region, --profile, --endpoint, --proxy
 * and --ca-bundle, defined once. Light on purpose: command definitions (what --help shows) import it.
 */

export interface ConnectionArgs {
  region?: string;
  profile?: string;
  endpoint?: string;
  proxy?: string;
  'ca-bundle'?: string;
}

export const CONNECTION_OPTIONS = {
  region: { type: 'string', describe: 'AWS region (default: from the environment/profile)' },
  profile: { type: 'string', describe: 'AWS profile, SSO profiles included' },
  endpoint: { type: 'string', describe: 'SSM endpoint URL (VPC endpoint, or the emulator)' },
  proxy: { type: 'string', describe: 'Outbound proxy for the API and the data channel: http://[user:pass@]host:port, or none (default: HTTPS_PROXY/NO_PROXY)' },
  'ca-bundle': { type: 'string', describe: "PEM file of CAs to trust besides Node's (default: AWS_CA_BUNDLE, then the profile's ca_bundle)" },
} as const;

/** The options as the library takes them. */
export function connectionFromArgs(args: ConnectionArgs): Pick<AwsConnectionOptions, 'region' | 'profile' | 'endpoint' | 'proxy' | 'caBundle'> {
  return { region: args.region, profile: args.profile, endpoint: args.endpoint, proxy: args.proxy, caBundle: args['ca-bundle'] };
}
