#!/usr/bin/env node
// The CDK app (cdk.json "app"): `npx cdk synth`, `npx cdk deploy -c alertEmails=oncall@example.com -c slack=true`.
// Context keys are listed in lib/app.ts. cdk-nag AwsSolutions and Serverless check the stacks at synth.
import { App } from 'aws-cdk-lib';
import { buildApp } from '../lib/app.js';

const app = new App();
buildApp(app);
app.synth();
