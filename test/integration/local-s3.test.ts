// The embedded S3 emulator (local/emulators/s3.ts) as the unmodified AWS SDK sees it: objects, metadata,
// listings, errors, path-style and virtual-hosted addressing, the SDK's default checksums (a CRC32 header, or
// aws-chunked bodies with a trailing CRC32), signed aws-chunked bodies; and the local runtime running a
// hand-written stack with a bucket and a function that reads it through AWS_ENDPOINT_URL_S3.
import { createHash } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import type { LookupFunction } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  NoSuchBucket,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  paginateListObjectsV2,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../infra/paths';
import { bucketFromHost, decodeAwsChunked, startS3Emulator, type RunningS3Emulator } from '../../local/emulators/s3';
import { generatedBucketName, startLocalRuntime, type LocalRuntime } from '../../local/runtime';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const md5 = (data: Buffer | string) => `"${createHash('md5').update(data).digest('hex')}"`;
const crc32Base64 = (data: Buffer | string) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc32(data));
  return b.toString('base64');
};

/** Resolves <anything>.localhost to 127.0.0.1 (no DNS is involved), so that virtual-hosted style reaches the emulator. */
const loopbackLookup = ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
  if (hostname !== 'localhost' && !hostname.endsWith('.localhost')) return dnsLookup(hostname, options as never, callback as never);
  if (options.all) return callback(null, [{ address: '127.0.0.1', family: 4 }] satisfies LookupAddress[]);
  return callback(null, '127.0.0.1', 4);
}) as unknown as LookupFunction;

let emulator: RunningS3Emulator;
let s3: S3Client;
/** The Host header and decoded headers of every request the emulator received, newest last. */
const seen: { method: string; url: string; headers: IncomingHttpHeaders }[] = [];
const clients: S3Client[] = [];
const client = (config: S3ClientConfig = {}) => {
  const c = new S3Client({ region: 'us-east-1', endpoint: emulator.endpoint, credentials, ...config });
  clients.push(c);
  return c;
};

beforeAll(async () => {
  emulator = await startS3Emulator();
  emulator.server.prependListener('request', (req) => seen.push({ method: req.method!, url: req.url!, headers: req.headers }));
  s3 = client();
  await s3.send(new CreateBucketCommand({ Bucket: 'photos' }));
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await emulator?.stop();
});

describe('embedded S3 emulator, through @aws-sdk/client-s3', () => {
  it('creates, lists and heads buckets; a missing bucket is NoSuchBucket / NotFound', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'another-bucket' }));
    const { Buckets, Owner } = await s3.send(new ListBucketsCommand({}));
    expect(Buckets!.map((b) => b.Name)).toEqual(expect.arrayContaining(['photos', 'another-bucket']));
    expect(Buckets![0]!.CreationDate).toBeInstanceOf(Date);
    expect(Owner?.ID).toBeTruthy();
    expect((await s3.send(new HeadBucketCommand({ Bucket: 'photos' }))).BucketRegion).toBe('us-east-1');
    await expect(s3.send(new CreateBucketCommand({ Bucket: 'photos' }))).rejects.toMatchObject({ name: 'BucketAlreadyOwnedByYou', $metadata: { httpStatusCode: 409 } });
    await expect(s3.send(new HeadBucketCommand({ Bucket: 'no-such-bucket' }))).rejects.toMatchObject({ name: 'NotFound', $metadata: { httpStatusCode: 404 } });
    await expect(s3.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'k' }))).rejects.toBeInstanceOf(NoSuchBucket);
    await expect(s3.send(new CreateBucketCommand({ Bucket: 'Bad_Name' }))).rejects.toMatchObject({ name: 'InvalidBucketName' });
  });

  it('puts and gets an object with its content type, metadata, ETag, Last-Modified and length; heads it; reads a range', async () => {
    const body = 'hello, local S3';
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: 'photos',
        Key: 'notes/a b+c.txt',
        Body: body,
        ContentType: 'text/plain',
        Metadata: { owner: 'me', 'job-id': '42' },
        CacheControl: 'no-cache',
      }),
    );
    expect(put.ETag).toBe(md5(body));

    const got = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'notes/a b+c.txt' }));
    expect(await got.Body!.transformToString()).toBe(body);
    expect(got).toMatchObject({ ContentType: 'text/plain', ContentLength: body.length, ETag: md5(body), Metadata: { owner: 'me', 'job-id': '42' }, CacheControl: 'no-cache' });
    expect(got.LastModified).toBeInstanceOf(Date);
    expect(Math.abs(got.LastModified!.getTime() - Date.now())).toBeLessThan(5000);

    const head = await s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'notes/a b+c.txt' }));
    expect(head).toMatchObject({ ContentType: 'text/plain', ContentLength: body.length, ETag: md5(body), Metadata: { owner: 'me', 'job-id': '42' } });

    const range = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'notes/a b+c.txt', Range: 'bytes=7-11' }));
    expect(await range.Body!.transformToString()).toBe('local');
    expect(range.ContentRange).toBe(`bytes 7-11/${body.length}`);
    expect(range.$metadata.httpStatusCode).toBe(206);

    // Without a Content-Type, S3 keeps binary/octet-stream; the SDK sends application/octet-stream for a Buffer.
    await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'bytes.bin', Body: Buffer.from([0, 1, 2, 255]) }));
    const bytes = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'bytes.bin' }));
    expect([...(await bytes.Body!.transformToByteArray())]).toEqual([0, 1, 2, 255]);
  });

  it("a missing key is the SDK's NoSuchKey (GetObject) or NotFound (HeadObject), from S3's XML error", async () => {
    const error = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'missing.png' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoSuchKey);
    expect(error).toMatchObject({ name: 'NoSuchKey', message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } });
    await expect(s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'missing.png' }))).rejects.toMatchObject({ name: 'NotFound', $metadata: { httpStatusCode: 404 } });

    const raw = await fetch(`${emulator.endpoint}/photos/missing.png`);
    expect(raw.status).toBe(404);
    expect(raw.headers.get('content-type')).toBe('application/xml');
    const xml = await raw.text();
    expect(xml).toMatch(
      /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<Error><Code>NoSuchKey<\/Code><Message>The specified key does not exist\.<\/Message><Key>missing\.png<\/Key><RequestId>\w+<\/RequestId>/,
    );
  });

  it('lists with ListObjectsV2: prefix, delimiter, max-keys and continuation tokens', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'listing' }));
    const keys = ['a/1', 'a/2', 'a/3', 'b/x/1', 'b/y', 'c', 'é'];
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: 'listing', Key: key, Body: key }));

    const all = await s3.send(new ListObjectsV2Command({ Bucket: 'listing' }));
    expect(all.Contents!.map((o) => o.Key)).toEqual(keys);
    expect(all).toMatchObject({ KeyCount: keys.length, IsTruncated: false, Name: 'listing' });
    expect(all.Contents![0]).toMatchObject({ Key: 'a/1', Size: 3, ETag: md5('a/1'), StorageClass: 'STANDARD' });

    const first = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', Prefix: 'a/', MaxKeys: 2 }));
    expect(first.Contents!.map((o) => o.Key)).toEqual(['a/1', 'a/2']);
    expect(first.IsTruncated).toBe(true);
    const second = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', Prefix: 'a/', MaxKeys: 2, ContinuationToken: first.NextContinuationToken }));
    expect(second.Contents!.map((o) => o.Key)).toEqual(['a/3']);
    expect(second.IsTruncated).toBe(false);

    const folded = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', Delimiter: '/' }));
    expect(folded.CommonPrefixes!.map((p) => p.Prefix)).toEqual(['a/', 'b/']);
    expect(folded.Contents!.map((o) => o.Key)).toEqual(['c', 'é']);

    // One entry a page: a common prefix as the last entry of a page skips everything under it.
    const pages: string[] = [];
    for await (const page of paginateListObjectsV2({ client: s3, pageSize: 1 }, { Bucket: 'listing', Delimiter: '/' })) {
      pages.push(...(page.CommonPrefixes ?? []).map((p) => p.Prefix!), ...(page.Contents ?? []).map((o) => o.Key!));
    }
    expect(pages).toEqual(['a/', 'b/', 'c', 'é']);

    const after = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', StartAfter: 'b/y' }));
    expect(after.Contents!.map((o) => o.Key)).toEqual(['c', 'é']);
  });

  it('deletes objects, one (DeleteObject) or several (DeleteObjects)', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'deleting' }));
    for (const key of ['one', 'two', 'three & <four>']) await s3.send(new PutObjectCommand({ Bucket: 'deleting', Key: key, Body: key }));
    expect((await s3.send(new DeleteObjectCommand({ Bucket: 'deleting', Key: 'one' }))).$metadata.httpStatusCode).toBe(204);
    await expect(s3.send(new GetObjectCommand({ Bucket: 'deleting', Key: 'one' }))).rejects.toBeInstanceOf(NoSuchKey);
    await s3.send(new DeleteObjectCommand({ Bucket: 'deleting', Key: 'one' })); // deleting a missing key is no error
    const { Deleted } = await s3.send(new DeleteObjectsCommand({ Bucket: 'deleting', Delete: { Objects: [{ Key: 'two' }, { Key: 'three & <four>' }] } }));
    expect(Deleted!.map((d) => d.Key)).toEqual(['two', 'three & <four>']);
    expect((await s3.send(new ListObjectsV2Command({ Bucket: 'deleting' }))).KeyCount).toBe(0);
  });

  it('takes PutObject as the SDK sends it by default: a CRC32 header, or a stream aws-chunked with a trailing CRC32', async () => {
    const text = 'checksummed by default';
    const put = await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'default.txt', Body: text }));
    expect(seen.at(-1)!.headers).toMatchObject({ 'x-amz-sdk-checksum-algorithm': 'CRC32', 'x-amz-checksum-crc32': crc32Base64(text) });
    expect(put.ChecksumCRC32).toBe(crc32Base64(text));

    // A stream of known length: the SDK sends it aws-chunked (STREAMING-UNSIGNED-PAYLOAD-TRAILER) with the CRC32 as a trailer.
    const parts = [Buffer.alloc(70_000, 'a'), Buffer.alloc(70_000, 'b'), Buffer.from('end')];
    const whole = Buffer.concat(parts);
    await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'streamed.bin', Body: Readable.from(parts), ContentLength: whole.length, ContentType: 'application/x-test' }));
    const sent = seen.at(-1)!.headers;
    expect(sent).toMatchObject({ 'content-encoding': 'aws-chunked', 'x-amz-trailer': 'x-amz-checksum-crc32', 'x-amz-decoded-content-length': String(whole.length) });
    expect(String(sent['x-amz-content-sha256'])).toMatch(/^STREAMING-/);

    // Stored decoded (no chunk framing, no aws-chunked encoding), with its checksum, which the SDK validates on the way back.
    const got = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'streamed.bin', ChecksumMode: 'ENABLED' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(whole)).toBe(true);
    expect(got).toMatchObject({ ContentLength: whole.length, ETag: md5(whole), ChecksumCRC32: crc32Base64(whole), ContentType: 'application/x-test' });
    expect(got.ContentEncoding).toBeUndefined();

    // A checksum that does not match the body is refused, as S3 does.
    await expect(s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'bad.txt', Body: 'x', ChecksumCRC32: 'AAAAAA==' }))).rejects.toMatchObject({
      name: 'BadDigest',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'bad.txt' }))).rejects.toMatchObject({ name: 'NotFound' });
  });

  it('is reached path-style (the default for an IP endpoint, or forcePathStyle) and virtual-hosted style (bucket.localhost)', async () => {
    await client({ forcePathStyle: true }).send(new PutObjectCommand({ Bucket: 'photos', Key: 'path/style.txt', Body: 'p' }));
    expect(seen.at(-1)).toMatchObject({ url: expect.stringMatching(/^\/photos\/path\/style\.txt/), headers: { host: `127.0.0.1:${new URL(emulator.endpoint).port}` } });

    const port = new URL(emulator.endpoint).port;
    const virtual = client({ endpoint: `http://localhost:${port}`, forcePathStyle: false, requestHandler: { httpAgent: new Agent({ keepAlive: true, lookup: loopbackLookup }) } });
    await virtual.send(new PutObjectCommand({ Bucket: 'photos', Key: 'virtual/hosted.txt', Body: 'v' }));
    expect(seen.at(-1)).toMatchObject({ url: expect.stringMatching(/^\/virtual\/hosted\.txt/), headers: { host: `photos.localhost:${port}` } });
    expect(await (await virtual.send(new GetObjectCommand({ Bucket: 'photos', Key: 'path/style.txt' }))).Body!.transformToString()).toBe('p');
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'virtual/hosted.txt' }))).Body!.transformToString()).toBe('v');
    const listed = await virtual.send(new ListObjectsV2Command({ Bucket: 'photos', Prefix: 'virtual/' }));
    expect(listed.Contents!.map((o) => o.Key)).toEqual(['virtual/hosted.txt']);
    await expect(virtual.send(new GetObjectCommand({ Bucket: 'photos', Key: 'nothing' }))).rejects.toBeInstanceOf(NoSuchKey);

    expect(bucketFromHost(`photos.127.0.0.1:${port}`)).toBe('photos');
    expect(bucketFromHost('my.dotted.bucket.localhost')).toBe('my.dotted.bucket');
    expect(bucketFromHost(`127.0.0.1:${port}`)).toBeUndefined();
    expect(bucketFromHost(`localhost:${port}`)).toBeUndefined();
  });

  it('decodes a signed aws-chunked body with a trailing checksum (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER), Host <bucket>.127.0.0.1', async () => {
    const data = Buffer.concat([Buffer.alloc(65_536, 'x'), Buffer.from('tail\r\nwith CRLF inside')]);
    const signature = 'f'.repeat(64);
    const framed = (checksum: string) =>
      Buffer.concat([
        Buffer.from(`10000;chunk-signature=${signature}\r\n`),
        data.subarray(0, 65_536),
        Buffer.from(`\r\n${(data.length - 65_536).toString(16)};chunk-signature=${signature}\r\n`),
        data.subarray(65_536),
        Buffer.from(`\r\n0;chunk-signature=${signature}\r\nx-amz-checksum-crc32:${checksum}\r\nx-amz-trailer-signature:${signature}\r\n\r\n`),
      ]);
    expect(decodeAwsChunked(framed('abc='))).toEqual({ data, trailers: { 'x-amz-checksum-crc32': 'abc=', 'x-amz-trailer-signature': signature } });

    const port = Number(new URL(emulator.endpoint).port);
    const put = (body: Buffer) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            method: 'PUT',
            path: '/signed/chunks.txt',
            headers: {
              host: `photos.127.0.0.1:${port}`,
              authorization: `AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${signature}`,
              'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
              'content-encoding': 'aws-chunked',
              'x-amz-decoded-content-length': String(data.length),
              'x-amz-trailer': 'x-amz-checksum-crc32',
              'content-type': 'text/plain',
              'content-length': String(body.length),
            },
          },
          (res) => {
            let text = '';
            res.on('data', (d: Buffer) => (text += d.toString()));
            res.on('end', () => resolve({ status: res.statusCode!, text }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    expect(await put(framed('AAAAAA=='))).toMatchObject({ status: 400, text: expect.stringContaining('<Code>BadDigest</Code>') });
    expect((await put(framed(crc32Base64(data)))).status).toBe(200);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'signed/chunks.txt' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true);
    expect(got.ContentType).toBe('text/plain');
  });
});

describe('local runtime with an S3 bucket', () => {
  let assemblyDir: string;
  let runtime: LocalRuntime | undefined;

  /** A cloud assembly as cdk synth writes one: a manifest, the stack's template and each function's bundled asset. */
  async function writeAssembly(dir: string, resources: Record<string, unknown>) {
    mkdirSync(dir, { recursive: true });
    // What a NodejsFunction bundles: the handler with the S3 SDK inside.
    await build({
      stdin: {
        contents: `
          import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
          const s3 = new S3Client({});
          export const handler = async (event) => {
            const env = { bucket: process.env.BUCKET, arn: process.env.BUCKET_ARN, endpoint: process.env.AWS_ENDPOINT_URL_S3 };
            try {
              const object = await s3.send(new GetObjectCommand({ Bucket: process.env.BUCKET, Key: event.key }));
              return { ...env, body: await object.Body.transformToString() };
            } catch (error) {
              return { ...env, error: error.name };
            }
          };`,
        resolveDir: PACKAGE_ROOT,
        loader: 'js',
      },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: path.join(dir, 'asset.reader', 'index.mjs'),
      banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
      logLevel: 'warning',
    });
    writeFileSync(path.join(dir, 'S3Stack.template.json'), JSON.stringify({ Resources: resources }));
    const manifest = path.join(dir, 'manifest.json');
    writeFileSync(
      manifest,
      JSON.stringify({ version: '36.0.0', artifacts: { S3Stack: { type: 'aws:cloudformation:stack', properties: { templateFile: 'S3Stack.template.json' } } } }),
    );
    // Taken as it is only while newer than the project's sources, which others may be editing: dated ahead.
    const later = new Date(Date.now() + 24 * 3600_000);
    utimesSync(manifest, later, later);
  }

  const reader = (environment: Record<string, unknown>) => ({
    Type: 'AWS::Lambda::Function',
    Properties: { Handler: 'index.handler', Runtime: 'nodejs20.x', Timeout: 10, Environment: { Variables: environment } },
    Metadata: { 'aws:asset:path': 'asset.reader', 'aws:asset:property': 'Code' },
  });

  beforeAll(() => {
    assemblyDir = mkdtempSync(path.join(tmpdir(), 'jobline-s3-assembly-'));
  });
  afterAll(async () => {
    await runtime?.stop();
    rmSync(assemblyDir, { recursive: true, force: true });
  });

  it('creates the buckets, resolves Ref and Fn::GetAtt Arn, and a function reads the bucket through AWS_ENDPOINT_URL_S3', async () => {
    const dir = path.join(assemblyDir, 'with-bucket');
    await writeAssembly(dir, {
      Uploads1A2B3C4D: { Type: 'AWS::S3::Bucket', Properties: { Tags: [{ Key: 'aws-cdk:auto-delete-objects', Value: 'true' }] } },
      Named9F8E7D6C: { Type: 'AWS::S3::Bucket', Properties: { BucketName: { 'Fn::Join': ['', ['named-', { Ref: 'AWS::AccountId' }]] } } },
      UploadsPolicy: { Type: 'AWS::S3::BucketPolicy', Properties: { Bucket: { Ref: 'Uploads1A2B3C4D' }, PolicyDocument: { Statement: [] } } },
      ReaderPolicy: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          PolicyDocument: {
            Statement: [
              {
                Action: ['s3:GetObject*', 's3:GetBucket*', 's3:List*'],
                Effect: 'Allow',
                Resource: [{ 'Fn::GetAtt': ['Uploads1A2B3C4D', 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Uploads1A2B3C4D', 'Arn'] }, '/*']] }],
              },
            ],
          },
        },
      },
      Reader: reader({ BUCKET: { Ref: 'Uploads1A2B3C4D' }, BUCKET_ARN: { 'Fn::GetAtt': ['Uploads1A2B3C4D', 'Arn'] } }),
      // CDK's bucket notifications: an inline Python handler of a custom resource, which runs at deploy time only.
      NotificationsHandler: { Type: 'AWS::Lambda::Function', Properties: { Handler: 'index.handler', Runtime: 'python3.13', Code: { ZipFile: 'import boto3' } } },
      UploadsNotifications: {
        Type: 'Custom::S3BucketNotifications',
        Properties: { ServiceToken: { 'Fn::GetAtt': ['NotificationsHandler', 'Arn'] }, BucketName: { Ref: 'Uploads1A2B3C4D' } },
      },
    });
    runtime = await startLocalRuntime({
      assemblyDir: dir,
      port: 0,
      endpoints: { dynamodb: process.env.AWS_ENDPOINT_URL_DYNAMODB!, sqs: process.env.AWS_ENDPOINT_URL_SQS! },
      namePrefix: 'rt-s3-',
    });
    const bucket = generatedBucketName('rt-s3-', 'S3Stack', 'Uploads1A2B3C4D');
    expect(bucket).toBe('rt-s3-s3stack-uploads1a2b3c4d');
    expect(Object.fromEntries(runtime.buckets)).toEqual({ Uploads1A2B3C4D: bucket, Named9F8E7D6C: 'named-000000000000' });
    expect(runtime.embedded.s3).toBe(true);
    expect(runtime.endpoints.s3).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(runtime.environments.get('Reader')).toMatchObject({ BUCKET: bucket, BUCKET_ARN: `arn:aws:s3:::${bucket}`, AWS_ENDPOINT_URL_S3: runtime.endpoints.s3 });
    expect([...runtime.functions.keys()]).toEqual(['Reader']);

    const outside = client({ endpoint: runtime.endpoints.s3 });
    expect((await outside.send(new ListBucketsCommand({}))).Buckets!.map((b) => b.Name).sort()).toEqual(['named-000000000000', bucket]);
    await outside.send(new PutObjectCommand({ Bucket: bucket, Key: 'in/cat.txt', Body: 'meow' }));
    const invoke = (key: string) => runtime!.functions.get('Reader')!.invoke({ key });
    expect(await invoke('in/cat.txt')).toMatchObject({ ok: true, result: { bucket, body: 'meow', endpoint: runtime.endpoints.s3 } });
    expect(await invoke('in/dog.txt')).toMatchObject({ ok: true, result: { error: 'NoSuchKey' } });

    const endpoint = runtime.endpoints.s3!;
    await runtime.stop();
    runtime = undefined;
    await expect(fetch(endpoint)).rejects.toThrow();
  });

  it('starts no S3 emulator, and gives functions no S3 endpoint, when the stack has no bucket', async () => {
    const dir = path.join(assemblyDir, 'without-bucket');
    await writeAssembly(dir, { Reader: reader({ BUCKET: 'none' }) });
    runtime = await startLocalRuntime({ assemblyDir: dir, port: 0, endpoints: { dynamodb: process.env.AWS_ENDPOINT_URL_DYNAMODB!, sqs: process.env.AWS_ENDPOINT_URL_SQS! } });
    expect(runtime.endpoints.s3).toBeUndefined();
    expect(runtime.embedded.s3).toBe(false);
    expect(runtime.buckets.size).toBe(0);
    expect(runtime.environments.get('Reader')!.AWS_ENDPOINT_URL_S3).toBeUndefined();
  });
});
