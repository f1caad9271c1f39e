/**
 * A minimal S3, in memory, in this process: an HTTP server on 127.0.0.1 that speaks S3's REST protocol well
 * enough for the unmodified AWS SDK (@aws-sdk/client-s3) and the AWS CLI (files under its 8 MB multipart
 * threshold), path-style (http://127.0.0.1:<port>/<bucket>/<key>) and virtual-hosted style
 * (Host: <bucket>.localhost:<port> or <bucket>.127.0.0.1:<port>). The SDK addresses an IP endpoint
 * path-style whatever forcePathStyle says.
 *
 * Operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation, PutObject, GetObject
 * (single byte ranges, If-Match/If-None-Match/If-Modified-Since/If-Unmodified-Since), HeadObject,
 * DeleteObject, DeleteObjects, ListObjectsV2 and ListObjects (prefix, delimiter, max-keys, continuation
 * token / marker, start-after, encoding-type=url). Anything else is a 501 NotImplemented S3 error.
 *
 * Signatures are not checked (any credentials, presigned URLs included). Request bodies sent aws-chunked
 * (x-amz-content-sha256: STREAMING-..., Content-Encoding: aws-chunked), signed or not, with trailing
 * checksums (x-amz-trailer) or not, are decoded: that is how the SDK sends a stream with its default
 * checksum. A checksum sent in a header or a trailer (x-amz-checksum-crc32, -crc32c, -sha1, -sha256) and
 * Content-MD5 are verified (BadDigest on a mismatch; CRC64NVME is kept but not verified), kept with the object
 * and returned by GetObject/HeadObject when asked (x-amz-checksum-mode: ENABLED), as S3 does.
 *
 * Not emulated: versioning, multipart uploads, CopyObject, ACLs, bucket policies, notifications, tagging,
 * encryption settings, storage classes, lifecycle, website hosting. Dev and test only: never deployed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { RunningEmulator } from './dynamodb-local';
import { freePort } from './free-port';

export interface S3Object {
  body: Buffer;
  /** Quoted MD5 hex of the body, as S3 gives it for a single-part upload. */
  etag: string;
  lastModified: Date;
  contentType: string;
  /** x-amz-meta-* headers, by their lower-case name without the prefix. */
  metadata: Record<string, string>;
  /** Other headers S3 keeps and returns: Content-Encoding, Content-Disposition, Content-Language, Cache-Control, Expires. */
  headers: Record<string, string>;
  /** Checksums the uploader sent, by algorithm (crc32, crc32c, crc64nvme, sha1, sha256), base64 as in the headers. */
  checksums: Record<string, string>;
}

export interface S3Bucket {
  name: string;
  region: string;
  created: Date;
  objects: Map<string, S3Object>;
}

export interface S3EmulatorOptions {
  /** A fixed port, or 0 / none for any free port. */
  port?: number;
  /** The region buckets are in unless CreateBucket names one (default us-east-1). */
  region?: string;
  /** The largest object PutObject takes, in bytes (default 256 MiB; everything is held in memory). */
  maxObjectBytes?: number;
  /** Host names under which <bucket>.<name> is virtual-hosted style (default: localhost and 127.0.0.1). */
  virtualHostSuffixes?: string[];
}

export interface RunningS3Emulator extends RunningEmulator {
  server: Server;
  /** Every bucket and object, by name and key (the emulator's whole state, for tests and tooling). */
  buckets: Map<string, S3Bucket>;
  /** Creates a bucket directly, as CreateBucket would; an existing one is kept as it is. */
  createBucket(name: string, region?: string): void;
}

const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const OWNER = { id: '75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a', displayName: 'local' };
const CHECKSUM_ALGORITHMS = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const;
const KEPT_HEADERS = ['content-disposition', 'content-language', 'cache-control', 'expires'];
/** GetObject's response-* query parameters and the header each one sets. */
const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'content-type',
  'response-content-language': 'content-language',
  'response-expires': 'expires',
  'response-cache-control': 'cache-control',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
};
const LIST_PARAMETERS = new Set([
  'list-type',
  'prefix',
  'delimiter',
  'max-keys',
  'continuation-token',
  'start-after',
  'fetch-owner',
  'encoding-type',
  'marker',
  'optional-object-attributes',
]);

class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, string> = {},
  ) {
    super(message);
  }
}

const noSuchBucket = (bucket: string) => new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
const notImplemented = (what: string) => new S3Error(501, 'NotImplemented', `${what} is not implemented by jobline's local S3 emulator`);

export async function startS3Emulator(options: S3EmulatorOptions = {}): Promise<RunningS3Emulator> {
  const port = options.port || (await freePort());
  const defaultRegion = options.region ?? 'us-east-1';
  const maxObjectBytes = options.maxObjectBytes ?? 256 * 1024 * 1024;
  const suffixes = (options.virtualHostSuffixes ?? ['localhost', '127.0.0.1']).map((s) => s.toLowerCase());
  const buckets = new Map<string, S3Bucket>();

  const createBucket = (name: string, region = defaultRegion) => {
    if (!validBucketName(name)) throw new S3Error(400, 'InvalidBucketName', 'The specified bucket is not valid.', { BucketName: name });
    if (!buckets.has(name)) buckets.set(name, { name, region, created: new Date(), objects: new Map() });
  };
  const bucketNamed = (name: string) => {
    const bucket = buckets.get(name);
    if (!bucket) throw noSuchBucket(name);
    return bucket;
  };

  const server = createServer((req, res) => {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    res.setHeader('x-amz-request-id', requestId);
    res.setHeader('x-amz-id-2', randomBytes(24).toString('base64'));
    res.setHeader('server', 'AmazonS3');
    handle(req, res).catch((error: unknown) => {
      const e = error instanceof S3Error ? error : new S3Error(500, 'InternalError', `We encountered an internal error: ${error instanceof Error ? error.message : String(error)}`);
      if (res.headersSent) return void res.destroy();
      if (req.method === 'HEAD') return void res.writeHead(e.status).end(); // S3 answers a failed HEAD without a body
      const details = Object.entries(e.details)
        .map(([k, v]) => element(k, v))
        .join('');
      sendXml(res, e.status, `<Error>${element('Code', e.code)}${element('Message', e.message)}${details}${element('RequestId', requestId)}${element('HostId', 'local')}</Error>`);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const { bucket: bucketName, key, query } = target(req, suffixes);
    const raw = await readBody(req, maxObjectBytes);
    for (const name of [...query.keys()]) if (name === 'x-id' || name.toLowerCase().startsWith('x-amz-')) query.delete(name); // operation hints, presigned URL parameters
    const subresources = [...query.keys()];

    if (bucketName === undefined) {
      if (method !== 'GET') throw new S3Error(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
      const prefix = query.get('prefix') ?? '';
      const listed = [...buckets.values()].filter((b) => b.name.startsWith(prefix)).sort((a, b) => compareKeys(a.name, b.name));
      const items = listed.map((b) => `<Bucket>${element('Name', b.name)}${element('CreationDate', b.created.toISOString())}${element('BucketRegion', b.region)}</Bucket>`);
      return sendXml(
        res,
        200,
        `<ListAllMyBucketsResult xmlns="${XMLNS}">${owner()}<Buckets>${items.join('')}</Buckets>${query.has('prefix') ? element('Prefix', prefix) : ''}</ListAllMyBucketsResult>`,
      );
    }

    if (key === undefined) {
      const only = (name: string) => subresources.length === 1 && subresources[0] === name;
      switch (method) {
        case 'PUT': {
          if (subresources.length > 0) throw notImplemented(`PUT ?${subresources[0]} on a bucket`);
          const location = /<LocationConstraint>([^<]*)<\/LocationConstraint>/.exec(raw.toString('utf8'))?.[1]?.trim();
          if (buckets.has(bucketName))
            throw new S3Error(409, 'BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', { BucketName: bucketName });
          createBucket(bucketName, location || defaultRegion);
          res.setHeader('location', `/${bucketName}`);
          return void res.writeHead(200, { 'content-length': '0' }).end();
        }
        case 'HEAD': {
          const bucket = bucketNamed(bucketName);
          return void res.writeHead(200, { 'x-amz-bucket-region': bucket.region, 'x-amz-access-point-alias': 'false', 'content-length': '0' }).end();
        }
        case 'DELETE': {
          if (subresources.length > 0) throw notImplemented(`DELETE ?${subresources[0]} on a bucket`);
          const bucket = bucketNamed(bucketName);
          if (bucket.objects.size > 0) throw new S3Error(409, 'BucketNotEmpty', 'The bucket you tried to delete is not empty', { BucketName: bucketName });
          buckets.delete(bucketName);
          return void res.writeHead(204).end();
        }
        case 'POST': {
          if (!only('delete')) throw notImplemented(`POST ${subresources.map((s) => `?${s}`).join('') || 'without ?delete'} on a bucket`);
          const bucket = bucketNamed(bucketName);
          verifyChecksums(req, raw, {});
          const text = raw.toString('utf8');
          const quiet = /<Quiet>\s*true\s*<\/Quiet>/i.test(text);
          const deleted: string[] = [];
          for (const [, object] of text.matchAll(/<Object>([\s\S]*?)<\/Object>/g)) {
            const encoded = /<Key>([\s\S]*?)<\/Key>/.exec(object!)?.[1];
            if (encoded === undefined) throw new S3Error(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
            const objectKey = unescapeXml(encoded);
            bucket.objects.delete(objectKey);
            deleted.push(objectKey);
          }
          const body = quiet ? '' : deleted.map((k) => `<Deleted>${element('Key', k)}</Deleted>`).join('');
          return sendXml(res, 200, `<DeleteResult xmlns="${XMLNS}">${body}</DeleteResult>`);
        }
        case 'GET': {
          const bucket = bucketNamed(bucketName);
          if (only('location'))
            return sendXml(res, 200, `<LocationConstraint xmlns="${XMLNS}">${bucket.region === 'us-east-1' ? '' : escapeXml(bucket.region)}</LocationConstraint>`);
          const unknown = subresources.find((s) => !LIST_PARAMETERS.has(s));
          if (unknown) throw notImplemented(`GET ?${unknown} on a bucket`);
          return sendXml(res, 200, listObjects(bucket, query));
        }
        default:
          throw new S3Error(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
      }
    }

    const bucket = bucketNamed(bucketName);
    switch (method) {
      case 'PUT': {
        if (subresources.length > 0) throw notImplemented(`PUT ?${subresources[0]} on an object (multipart uploads, tagging, ACLs...)`);
        if (req.headers['x-amz-copy-source'] !== undefined) throw notImplemented('CopyObject');
        const { data, trailers, contentEncoding } = decodeBody(req, raw);
        const checksums = verifyChecksums(req, data, trailers);
        const existing = bucket.objects.get(key);
        const ifNoneMatch = req.headers['if-none-match'];
        const ifMatch = req.headers['if-match'];
        // Conditional writes: If-None-Match: * (create only), If-Match: <etag> (replace only that version).
        if (ifNoneMatch === '*' && existing)
          throw new S3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-None-Match' });
        if (ifMatch !== undefined) {
          if (!existing) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
          if (!etagMatches(ifMatch, existing.etag))
            throw new S3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-Match' });
        }
        const metadata: Record<string, string> = {};
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(req.headers)) {
          if (typeof value !== 'string') continue;
          if (name.startsWith('x-amz-meta-')) metadata[name.slice('x-amz-meta-'.length)] = value;
          else if (KEPT_HEADERS.includes(name)) headers[name] = value;
        }
        if (contentEncoding) headers['content-encoding'] = contentEncoding;
        const object: S3Object = {
          body: data,
          etag: `"${createHash('md5').update(data).digest('hex')}"`,
          lastModified: new Date(Math.floor(Date.now() / 1000) * 1000),
          contentType: req.headers['content-type'] || 'binary/octet-stream',
          metadata,
          headers,
          checksums,
        };
        bucket.objects.set(key, object);
        const echoed = Object.fromEntries(Object.entries(checksums).map(([algorithm, value]) => [`x-amz-checksum-${algorithm}`, value]));
        return void res
          .writeHead(200, { etag: object.etag, ...echoed, ...(Object.keys(echoed).length > 0 ? { 'x-amz-checksum-type': 'FULL_OBJECT' } : {}), 'content-length': '0' })
          .end();
      }
      case 'GET':
      case 'HEAD': {
        const unknown = subresources.find((s) => !(s in RESPONSE_OVERRIDES));
        if (unknown) throw notImplemented(`${method} ?${unknown} on an object`);
        const object = bucket.objects.get(key);
        if (!object) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
        const headers: Record<string, string> = {
          etag: object.etag,
          'last-modified': object.lastModified.toUTCString(),
          'accept-ranges': 'bytes',
          'content-type': object.contentType,
          ...object.headers,
          ...Object.fromEntries(Object.entries(object.metadata).map(([name, value]) => [`x-amz-meta-${name}`, value])),
        };
        for (const [parameter, header] of Object.entries(RESPONSE_OVERRIDES)) {
          const value = query.get(parameter);
          if (value !== null) headers[header] = value;
        }
        const precondition = checkPreconditions(req, object);
        if (precondition === 304) return void res.writeHead(304, { etag: object.etag, 'last-modified': headers['last-modified']! }).end();
        if (precondition === 412) throw new S3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-Match' });
        const size = object.body.length;
        const range = parseRange(req.headers.range, size);
        if (range === 'unsatisfiable')
          throw new S3Error(416, 'InvalidRange', 'The requested range is not satisfiable', { RangeRequested: String(req.headers.range), ActualObjectSize: String(size) });
        if (!range && String(req.headers['x-amz-checksum-mode'] ?? '').toUpperCase() === 'ENABLED' && Object.keys(object.checksums).length > 0) {
          for (const [algorithm, value] of Object.entries(object.checksums)) headers[`x-amz-checksum-${algorithm}`] = value;
          headers['x-amz-checksum-type'] = 'FULL_OBJECT';
        }
        const body = range ? object.body.subarray(range.start, range.end + 1) : object.body;
        headers['content-length'] = String(body.length);
        if (range) headers['content-range'] = `bytes ${range.start}-${range.end}/${size}`;
        res.writeHead(range ? 206 : 200, headers);
        return void (method === 'HEAD' ? res.end() : res.end(body));
      }
      case 'DELETE': {
        if (subresources.length > 0) throw notImplemented(`DELETE ?${subresources[0]} on an object`);
        bucket.objects.delete(key);
        return void res.writeHead(204).end();
      }
      default:
        throw notImplemented(`${method} on an object (POST uploads, multipart...)`);
    }
  }

  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    server,
    buckets,
    createBucket,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The bucket and key a request addresses: from the Host header (virtual-hosted style) or the path (path-style). */
function target(req: IncomingMessage, suffixes: readonly string[]): { bucket?: string; key?: string; query: URLSearchParams } {
  const url = req.url ?? '/';
  const mark = url.indexOf('?');
  let path = mark < 0 ? url : url.slice(0, mark);
  // An absolute-form request target (through a proxy): only its path counts.
  if (/^https?:\/\//i.test(path)) path = new URL(path).pathname;
  const query = new URLSearchParams(mark < 0 ? '' : url.slice(mark + 1));
  const hosted = bucketFromHost(req.headers.host, suffixes);
  const rest = path.replace(/^\//, '');
  if (hosted !== undefined) return { bucket: hosted, key: rest === '' ? undefined : decode(rest), query };
  const slash = rest.indexOf('/');
  const bucket = decode(slash < 0 ? rest : rest.slice(0, slash));
  const key = slash < 0 ? '' : decode(rest.slice(slash + 1));
  return { bucket: bucket === '' ? undefined : bucket, key: key === '' ? undefined : key, query };
}

/** The bucket of a virtual-hosted style Host header: <bucket>.localhost[:port], <bucket>.127.0.0.1[:port]. */
export function bucketFromHost(host: string | undefined, suffixes: readonly string[] = ['localhost', '127.0.0.1']): string | undefined {
  if (!host || host.startsWith('[')) return undefined; // none, or an IPv6 literal
  const name = host.toLowerCase().replace(/:\d+$/, '');
  for (const suffix of suffixes) if (name.length > suffix.length + 1 && name.endsWith(`.${suffix}`)) return name.slice(0, -(suffix.length + 1));
  return undefined;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new S3Error(400, 'InvalidURI', "Couldn't parse the specified URI.");
  }
}

/** The whole request body; beyond `max` bytes it is read to the end and dropped, then refused (EntityTooLarge). */
function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) chunks.push(chunk);
    });
    req.on('end', () =>
      size > max ? reject(new S3Error(400, 'EntityTooLarge', `Your proposed upload exceeds the maximum allowed size (${max} bytes locally)`)) : resolve(Buffer.concat(chunks)),
    );
    req.on('error', reject);
  });
}

/** The object's bytes and trailers of a PutObject body, aws-chunked or not, and the Content-Encoding to keep. */
function decodeBody(req: IncomingMessage, raw: Buffer): { data: Buffer; trailers: Record<string, string>; contentEncoding?: string } {
  const encodings = String(req.headers['content-encoding'] ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  const kept = encodings.filter((e) => e.toLowerCase() !== 'aws-chunked').join(',') || undefined;
  const chunked = encodings.some((e) => e.toLowerCase() === 'aws-chunked') || String(req.headers['x-amz-content-sha256'] ?? '').startsWith('STREAMING-');
  if (!chunked) return { data: raw, trailers: {}, ...(kept ? { contentEncoding: kept } : {}) };
  const decoded = decodeAwsChunked(raw);
  const declared = req.headers['x-amz-decoded-content-length'];
  if (declared !== undefined && Number(declared) !== decoded.data.length) {
    throw new S3Error(
      400,
      'IncompleteBody',
      `You did not provide the number of bytes specified by the x-amz-decoded-content-length header (${String(declared)}; got ${decoded.data.length})`,
    );
  }
  return { ...decoded, ...(kept ? { contentEncoding: kept } : {}) };
}

/**
 * Decodes an aws-chunked body: chunks `<hex size>[;chunk-signature=<sig>]\r\n<bytes>\r\n`, a last chunk of
 * size 0, then optional trailers `<name>:<value>\r\n` (x-amz-checksum-crc32:..., x-amz-trailer-signature:...)
 * and an empty line. Signatures are not checked.
 */
export function decodeAwsChunked(body: Buffer): { data: Buffer; trailers: Record<string, string> } {
  const malformed = (why: string) => new S3Error(400, 'IncompleteBody', `The aws-chunked request body is malformed: ${why}`);
  const parts: Buffer[] = [];
  let position = 0;
  const line = () => {
    const end = body.indexOf('\r\n', position);
    if (end < 0) throw malformed('a line without CRLF');
    const text = body.toString('latin1', position, end);
    position = end + 2;
    return text;
  };
  for (;;) {
    const header = line();
    const sizeText = header.split(';')[0]!.trim();
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw malformed(`bad chunk size ${JSON.stringify(sizeText.slice(0, 20))}`);
    const size = parseInt(sizeText, 16);
    if (size === 0) break;
    if (position + size + 2 > body.length) throw malformed('a chunk longer than the body');
    parts.push(body.subarray(position, position + size));
    position += size;
    if (body[position] !== 13 || body[position + 1] !== 10) throw malformed('a chunk without its CRLF');
    position += 2;
  }
  const trailers: Record<string, string> = {};
  while (position < body.length) {
    const trailer = line();
    if (trailer === '') break;
    const colon = trailer.indexOf(':');
    if (colon < 0) throw malformed('a trailer without a colon');
    trailers[trailer.slice(0, colon).trim().toLowerCase()] = trailer.slice(colon + 1).trim();
  }
  return { data: Buffer.concat(parts), trailers };
}

/** A reflected CRC-32 with this polynomial (zlib.crc32 would need Node 20.15+ and does only CRC32). */
function crc(polynomial: number): (data: Buffer) => number {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? polynomial ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return (data) => {
    let c = 0xffffffff;
    for (const byte of data) c = table[(c ^ byte) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
}
const crc32 = crc(0xedb88320);
const crc32c = crc(0x82f63b78);

const bigEndian32 = (value: number) => {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value >>> 0);
  return buffer.toString('base64');
};

/** How each checksum S3 takes is computed (base64 of the big-endian digest); CRC64NVME is not verified. */
const CHECKSUM: Record<(typeof CHECKSUM_ALGORITHMS)[number], ((data: Buffer) => string) | undefined> = {
  crc32: (data) => bigEndian32(crc32(data)),
  crc32c: (data) => bigEndian32(crc32c(data)),
  crc64nvme: undefined,
  sha1: (data) => createHash('sha1').update(data).digest('base64'),
  sha256: (data) => createHash('sha256').update(data).digest('base64'),
};

/** Verifies Content-MD5 and the x-amz-checksum-* of the headers and trailers; returns the checksums to keep. */
function verifyChecksums(req: IncomingMessage, data: Buffer, trailers: Record<string, string>): Record<string, string> {
  const md5 = req.headers['content-md5'];
  if (typeof md5 === 'string') {
    if (Buffer.from(md5, 'base64').length !== 16) throw new S3Error(400, 'InvalidDigest', 'The Content-MD5 you specified is not valid.');
    if (createHash('md5').update(data).digest('base64') !== md5) throw new S3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
  const checksums: Record<string, string> = {};
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const name = `x-amz-checksum-${algorithm}`;
    const header = req.headers[name];
    const value = typeof header === 'string' ? header : trailers[name];
    if (value === undefined) continue;
    const compute = CHECKSUM[algorithm];
    if (compute && compute(data) !== value) throw new S3Error(400, 'BadDigest', `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`);
    checksums[algorithm] = value;
  }
  return checksums;
}

function etagMatches(header: string, etag: string): boolean {
  return header.split(',').some((candidate) => {
    const c = candidate.trim().replace(/^W\//, '');
    return c === '*' || c === etag || `"${c}"` === etag;
  });
}

/** 304 or 412 when a conditional GET/HEAD does not hold (If-Match and If-None-Match win over the dates, as in S3). */
function checkPreconditions(req: IncomingMessage, object: S3Object): 304 | 412 | undefined {
  const ifMatch = req.headers['if-match'];
  const ifNoneMatch = req.headers['if-none-match'];
  const ifModifiedSince = req.headers['if-modified-since'];
  const ifUnmodifiedSince = req.headers['if-unmodified-since'];
  const time = object.lastModified.getTime();
  if (ifMatch !== undefined) {
    if (!etagMatches(ifMatch, object.etag)) return 412;
  } else if (ifUnmodifiedSince !== undefined && time > Date.parse(ifUnmodifiedSince)) return 412;
  if (ifNoneMatch !== undefined) {
    if (etagMatches(ifNoneMatch, object.etag)) return 304;
  } else if (ifModifiedSince !== undefined && !(time > Date.parse(ifModifiedSince))) return 304;
  return undefined;
}

/** A single byte range (bytes=a-b, bytes=a-, bytes=-n); anything else is ignored, as HTTP allows. */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size) return 'unsatisfiable';
  if (end < start) return undefined;
  return { start, end };
}

/** S3 lists keys in UTF-8 binary order. */
function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** ListObjectsV2 (list-type=2) or ListObjects: keys in order after the marker, folded by the delimiter into common prefixes. */
function listObjects(bucket: S3Bucket, query: URLSearchParams): string {
  const v2 = query.get('list-type') === '2';
  const prefix = query.get('prefix') ?? '';
  const delimiter = query.get('delimiter') || undefined;
  const maxKeysText = query.get('max-keys');
  const maxKeys = maxKeysText === null ? 1000 : Number(maxKeysText);
  if (!Number.isInteger(maxKeys) || maxKeys < 0)
    throw new S3Error(400, 'InvalidArgument', 'Provided max-keys not an integer or within integer range', { ArgumentName: 'max-keys', ArgumentValue: String(maxKeysText) });
  const encodingType = query.get('encoding-type');
  if (encodingType !== null && encodingType !== 'url')
    throw new S3Error(400, 'InvalidArgument', 'Invalid Encoding Method specified in Request', { ArgumentName: 'encoding-type', ArgumentValue: encodingType });
  const token = query.get('continuation-token');
  const startAfter = query.get('start-after');
  let marker: string | null;
  if (v2 && token !== null) {
    marker = Buffer.from(token, 'base64url').toString('utf8');
    if (token === '' || Buffer.from(marker, 'utf8').toString('base64url') !== token)
      throw new S3Error(400, 'InvalidArgument', 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token' });
  } else marker = v2 ? startAfter : query.get('marker');
  // A marker that is a common prefix (the last entry of the previous page) skips every key under it.
  const markerRest = marker !== null && marker.startsWith(prefix) ? marker.slice(prefix.length) : undefined;
  const markerIsPrefix =
    delimiter !== undefined && markerRest !== undefined && markerRest.indexOf(delimiter) === markerRest.length - delimiter.length && markerRest.length >= delimiter.length;

  const contents: [string, S3Object][] = [];
  const prefixes: string[] = [];
  let truncated = false;
  let last: string | undefined;
  for (const key of [...bucket.objects.keys()].sort(compareKeys)) {
    if (!key.startsWith(prefix)) continue;
    if (marker !== null && (compareKeys(key, marker) <= 0 || (markerIsPrefix && key.startsWith(marker)))) continue;
    const at = delimiter === undefined ? -1 : key.indexOf(delimiter, prefix.length);
    const common = at < 0 ? undefined : key.slice(0, at + delimiter!.length);
    if (common !== undefined && prefixes.at(-1) === common) continue;
    if (contents.length + prefixes.length >= maxKeys) {
      truncated = maxKeys > 0;
      break;
    }
    if (common !== undefined) prefixes.push(common);
    else contents.push([key, bucket.objects.get(key)!]);
    last = common ?? key;
  }

  const text = (value: string) => (encodingType === 'url' ? encodeURIComponent(value) : value);
  const fetchOwner = !v2 || query.get('fetch-owner') === 'true';
  const parts = [element('Name', bucket.name), element('Prefix', text(prefix))];
  if (v2) {
    if (token !== null) parts.push(element('ContinuationToken', token));
    if (startAfter !== null) parts.push(element('StartAfter', text(startAfter)));
    parts.push(element('KeyCount', String(contents.length + prefixes.length)));
  } else parts.push(element('Marker', text(marker ?? '')));
  parts.push(element('MaxKeys', String(maxKeys)));
  if (delimiter !== undefined) parts.push(element('Delimiter', text(delimiter)));
  if (encodingType) parts.push(element('EncodingType', encodingType));
  parts.push(element('IsTruncated', String(truncated)));
  if (truncated && last !== undefined) {
    if (v2) parts.push(element('NextContinuationToken', Buffer.from(last, 'utf8').toString('base64url')));
    else if (delimiter !== undefined) parts.push(element('NextMarker', text(last)));
  }
  for (const [key, object] of contents) {
    const algorithms = Object.keys(object.checksums).map((a) => element('ChecksumAlgorithm', a.toUpperCase()));
    parts.push(
      `<Contents>${element('Key', text(key))}${element('LastModified', object.lastModified.toISOString())}${element('ETag', object.etag)}${algorithms.join('')}` +
        `${algorithms.length > 0 ? element('ChecksumType', 'FULL_OBJECT') : ''}${element('Size', String(object.body.length))}${fetchOwner ? owner() : ''}${element('StorageClass', 'STANDARD')}</Contents>`,
    );
  }
  for (const common of prefixes) parts.push(`<CommonPrefixes>${element('Prefix', text(common))}</CommonPrefixes>`);
  return `<ListBucketResult xmlns="${XMLNS}">${parts.join('')}</ListBucketResult>`;
}

/** S3's bucket naming rules (general purpose buckets). */
export function validBucketName(name: string): boolean {
  return /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) && !name.includes('..') && !/^\d+\.\d+\.\d+\.\d+$/.test(name) && !name.startsWith('xn--') && !name.endsWith('-s3alias');
}

const owner = () => `<Owner>${element('ID', OWNER.id)}${element('DisplayName', OWNER.displayName)}</Owner>`;

function element(name: string, value: string): string {
  return `<${name}>${escapeXml(value)}</${name}>`;
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(Number(entity.slice(1)));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[entity]!;
  });
}

function sendXml(res: ServerResponse, status: number, xml: string): void {
  const body = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`, 'utf8');
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': String(body.length) }).end(body);
}
