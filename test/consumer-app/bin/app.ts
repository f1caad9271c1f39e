import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ImagesStack } from '../lib/stack';

const app = new App();
new ImagesStack(app, 'Images');
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
