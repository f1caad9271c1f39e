import { CfnOutput, RemovalPolicy, Stack, Validations, type CfnElement, type StackProps } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { Jobline } from 'jobline/cdk';
import { tally } from './jobs/tally/handler';
import { thumbnail } from './jobs/thumbnail/handler';

export class ImagesStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const images = new Bucket(this, 'Images', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      serverAccessLogsPrefix: 'access-logs/',
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const jobs = new Jobline(this, 'Jobs'); // every prop is optional: an HTTP API with IAM auth, alarms, a sweeper
    const thumbnails = jobs.addJobType(thumbnail).addEnvironment('IMAGES_BUCKET', images.bucketName);
    images.grantRead(thumbnails); // a job type is an IGrantable: the grant reaches its worker
    // cdk-nag flags grantRead's wildcards; reading any object of this one bucket is what the worker is for.
    const bucket = `<${Stack.of(this).getLogicalId(images.node.defaultChild as CfnElement)}.Arn>`;
    for (const finding of ['Action::s3:GetBucket*', 'Action::s3:GetObject*', 'Action::s3:List*', `Resource::${bucket}/*`]) {
      Validations.of(thumbnails).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason: 'grantRead: the thumbnail worker reads the images' });
    }
    jobs.addJobType(tally);

    new CfnOutput(this, 'ApiUrl', { value: jobs.apiUrl });
    new CfnOutput(this, 'ImagesBucket', { value: images.bucketName });
  }
}
