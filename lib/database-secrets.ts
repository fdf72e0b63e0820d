import { Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { RESTORE_TARGETS, type RestoreTarget } from './contract.js';
import { secureKeyProps } from './defaults.js';

/**
 * The JSON the operator puts into a database secret after deploy (docs/deploy.md). The stack
 * creates the secrets without a value.
 */
export const DATABASE_SECRET_TEMPLATE = {
  engine: 'postgres',
  host: '',
  port: 5432,
  dbname: 'postgres',
  username: 'postgres',
  sslmode: 'require',
} as const;

export interface DatabaseSecretsProps {
  /**
   * Prefix of the secrets' descriptions, to tell several deployments apart in the console.
   * @default 'iconic-dr'
   */
  readonly descriptionPrefix?: string;
}

/**
 * Secrets Manager secrets for the source database and each restore target (`staging`,
 * `production`), encrypted with their own rotating KMS key. The stack never knows the values: it
 * creates the secrets EMPTY (no SecretString, no GenerateSecretString in the template), the operator
 * puts the credentials in after deploy, and the functions read them at run time by ARN.
 *
 * Empty on purpose: CloudFormation regenerates a generated value whenever the generator settings
 * change, and rewrites a templated SecretString whenever the template changes — either would wipe
 * the credentials the operator typed on some later `cdk deploy`. With no value in the template, no
 * update ever touches them.
 */
export class DatabaseSecrets extends Construct {
  public readonly key: kms.Key;
  /** Credentials the backup function reads (read-only access is enough). */
  public readonly source: secretsmanager.Secret;
  /** Credentials of each restore target, by target name. */
  public readonly targets: Readonly<Record<RestoreTarget, secretsmanager.Secret>>;
  /**
   * Read-only credentials of each restore target (a role with SELECT only), by target name: the
   * checks after a restore (verify-counts, integrity-check) read only these.
   */
  public readonly readOnlyTargets: Readonly<Record<RestoreTarget, secretsmanager.Secret>>;

  constructor(scope: Construct, id: string, props: DatabaseSecretsProps = {}) {
    super(scope, id);
    const prefix = props.descriptionPrefix ?? 'iconic-dr';
    this.key = new kms.Key(this, 'Key', secureKeyProps('Encrypts the iconic-dr database credentials in Secrets Manager'));

    this.source = this.databaseSecret('Source', `${prefix}: source database (Supabase/PostgreSQL) credentials that the daily backup reads. Fill in host, username and password.`);
    const targets = {} as Record<RestoreTarget, secretsmanager.Secret>;
    for (const target of RESTORE_TARGETS) {
      const name = target.charAt(0).toUpperCase() + target.slice(1);
      targets[target] = this.databaseSecret(`${name}Target`, `${prefix}: restore target "${target}" credentials (restore replaces the backed-up tables there). Fill in host, username and password.`);
    }
    this.targets = targets;
    const readOnly = {} as Record<RestoreTarget, secretsmanager.Secret>;
    for (const target of RESTORE_TARGETS) {
      const name = target.charAt(0).toUpperCase() + target.slice(1);
      readOnly[target] = this.databaseSecret(`${name}ReadOnly`, `${prefix}: restore target "${target}", READ-ONLY credentials (SELECT only) for the checks after a restore. Fill in host, username and password.`);
    }
    this.readOnlyTargets = readOnly;
  }

  private databaseSecret(id: string, description: string): secretsmanager.Secret {
    const secret = valuelessSecret(this, id, { description, encryptionKey: this.key });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'The credentials belong to an external Supabase/PostgreSQL database that Secrets Manager cannot rotate; the operator rotates them in Supabase and updates the secret (runbook).',
    });
    return secret;
  }
}

/**
 * A secret that CloudFormation creates without a value and never writes one into: the L2 always
 * generates one, so the generator is removed from the template (see DatabaseSecrets for why).
 */
export function valuelessSecret(scope: Construct, id: string, props: Pick<secretsmanager.SecretProps, 'description' | 'encryptionKey'>): secretsmanager.Secret {
  const secret = new secretsmanager.Secret(scope, id, props);
  (secret.node.defaultChild as secretsmanager.CfnSecret).addPropertyDeletionOverride('GenerateSecretString');
  return secret;
}
