import { SSMClient } from '@aws-sdk/client-ssm';

/*
 * Whether the SDK can find a region for these settings (the option, AWS_REGION, AWS_DEFAULT_REGION
 * or the profile's `region`), asked before anything else so a missing region is said plainly
 * instead of failing every call.
 */

export async function configuredRegion(options: { region?: string; profile?: string }): Promise<string | undefined> {
  if (options.region !== undefined) return options.region;
  const client = new SSMClient(options.profile === undefined ? {} : { profile: options.profile });
  try {
    return await client.config.region();
  } catch {
    return undefined;
  } finally {
    client.destroy();
  }
}
