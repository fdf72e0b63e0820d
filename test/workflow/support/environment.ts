import { ENV, METRICS_NAMESPACE, SERVICE_NAME } from '../../../lib/contract.js';
import { S3RVER_CREDENTIALS, S3RVER_REGION, type TestS3Server } from '../../helpers/s3-server.js';
import { ARNS } from './lambda.js';

/**
 * The environment the stack gives the functions (lib/contract.ts), pointing at the test S3 server
 * and at the fake secret/topic ARNs that the mocked Secrets Manager and SNS answer for. All
 * functions run in one process here, so the union of their variables is set.
 */
export function functionEnvironment(s3: Pick<TestS3Server, 'endpoint' | 'bucket'>, prefix: string): Record<string, string> {
  return {
    [ENV.serviceName]: SERVICE_NAME,
    [ENV.metricsNamespace]: METRICS_NAMESPACE,
    [ENV.logLevel]: 'INFO',
    [ENV.backupBucket]: s3.bucket,
    [ENV.backupPrefix]: prefix,
    [ENV.sourceSecretArn]: ARNS.source,
    [ENV.backupSchemas]: 'public',
    [ENV.backupTables]: '',
    [ENV.targetSecretArns]: JSON.stringify({ staging: ARNS.staging, production: ARNS.production }),
    [ENV.verifySecretArns]: JSON.stringify({ staging: ARNS.stagingReadOnly, production: ARNS.productionReadOnly }),
    [ENV.restoreTargets]: 'staging,production',
    [ENV.criticalTopicArn]: ARNS.critical,
    [ENV.warningTopicArn]: ARNS.warning,
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    AWS_REGION: S3RVER_REGION,
  };
}

/** Sets variables and returns a function that puts the previous values back. */
export function setEnvironment(values: Record<string, string>): () => void {
  const previous = Object.fromEntries(Object.keys(values).map((key) => [key, process.env[key]]));
  Object.assign(process.env, values);
  return () => {
    for (const [key, value] of Object.entries(previous)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
}
