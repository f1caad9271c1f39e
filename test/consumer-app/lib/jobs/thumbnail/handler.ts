import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { defineJob, PermanentError } from 'jobline';
import { thumbnailType } from './type';

const s3 = new S3Client({});

export const thumbnail = defineJob(thumbnailType, async ({ key }) => {
  const object = await s3.send(new GetObjectCommand({ Bucket: process.env.IMAGES_BUCKET, Key: key })).catch((error: Error) => {
    if (error.name === 'NoSuchKey') throw new PermanentError(`no image ${key}`); // retrying cannot help
    throw error;
  });
  const bytes = await object.Body!.transformToByteArray();
  return { key, bytes: bytes.length };
});
