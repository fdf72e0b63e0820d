import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../../lib/contract.js';

/**
 * The one Logger and Metrics of a function (Powertools). The stack sets POWERTOOLS_SERVICE_NAME and
 * POWERTOOLS_METRICS_NAMESPACE; the contract's values are the fallback, so that metrics always carry
 * the `service` dimension the alarms watch — and no other (do not add dimensions).
 *
 * Nothing secret is ever logged: handlers log names, ids and counts; engine errors never carry
 * connection strings; secret values stay inside `secrets.ts`.
 */
const serviceName = process.env.POWERTOOLS_SERVICE_NAME || SERVICE_NAME;

export const logger = new Logger({ serviceName });

export const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || METRICS_NAMESPACE, serviceName });
