/** `cdk synth` / `cdk deploy` entry point (see cdk.json). */
import { buildApp } from './app';

buildApp().app.synth();
