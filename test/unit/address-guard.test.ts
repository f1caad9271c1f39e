// The webhook's address guard: classification of literal addresses, the allow setting, the decision, and
// the socket lookup over host names answered by a stub resolver. No DNS query and no traffic leaves this
// machine: the only sockets opened here go to a server on 127.0.0.1.
import { createServer, request, type Server } from 'node:http';
import type { LookupAddress } from 'node:dns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AddressRefusedError,
  allowFromEnv,
  allowValueFor,
  checkHost,
  checkTarget,
  classifyAddress,
  guardedLookup,
  mappedIpv4,
  parseAllow,
  PUBLIC_ONLY,
  refusalReason,
  type AddressCategory,
  type Allow,
  type AllowableCategory,
  type ResolvedAddress,
  type Resolver,
} from '../../shared/net/address-guard';

const allowOf = (...categories: AllowableCategory[]): Allow => new Set(categories);

describe('classifyAddress', () => {
  const cases: Record<AddressCategory, string[]> = {
    loopback: [
      '127.0.0.1',
      '127.255.255.254',
      '127.1.2.3',
      '::1',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::FFFF:7F00:0001',
      '[::1]',
      '64:ff9b::7f00:1',
      '2002:7f00:1::1',
    ],
    private: [
      '10.0.0.1',
      '10.255.255.255',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.0.1',
      '192.168.255.255',
      '100.64.0.1',
      '100.127.255.255',
      'fc00::1',
      'fd12:3456:789a::1',
      'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
      'fec0::1',
      '::ffff:10.1.2.3',
      '::ffff:0:192.168.1.1',
      '::ffff:ac10:1',
      '64:ff9b:1::a00:1',
      '2002:c0a8:101::',
    ],
    'link-local': [
      '169.254.169.254',
      '169.254.0.1',
      '169.254.255.255',
      'fe80::1',
      'fe80::1%eth0',
      'febf:ffff::1',
      '::ffff:169.254.169.254',
      '::ffff:a9fe:a9fe',
      '64:ff9b::a9fe:a9fe',
    ],
    unspecified: ['0.0.0.0', '0.1.2.3', '0.255.255.255', '::', '0:0:0:0:0:0:0:0', '::ffff:0.0.0.0', '::ffff:0:0:1'],
    multicast: ['224.0.0.1', '239.255.255.250', 'ff02::1', 'ff05::1:3', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '::ffff:224.0.0.251'],
    reserved: [
      '240.0.0.1',
      '255.255.255.255',
      '192.0.0.1',
      '192.0.2.10',
      '198.51.100.7',
      '203.0.113.200',
      '198.18.0.1',
      '198.19.255.255',
      '192.88.99.1',
      '::127.0.0.1',
      '::2',
      '::1:0:0:1',
      '100::1',
      '2001:db8::1',
      '2001::1',
      '2001:1ff::1',
      '3fff::1',
      '1::',
      '4000::1',
      'fbff::1',
      '::ffff:255.255.255.255',
    ],
    public: [
      '1.1.1.1',
      '8.8.8.8',
      '93.184.216.34',
      '9.255.255.255',
      '11.0.0.0',
      '100.63.255.255',
      '100.128.0.0',
      '126.255.255.255',
      '128.0.0.0',
      '169.253.255.255',
      '169.255.0.0',
      '172.15.255.255',
      '172.32.0.0',
      '192.167.255.255',
      '192.169.0.0',
      '198.17.255.255',
      '198.20.0.0',
      '223.255.255.255',
      '2606:4700:4700::1111',
      '2a00:1450:4001:81b::200e',
      '2001:4860:4860::8888',
      '2001:200::1',
      '::ffff:8.8.8.8',
      '::ffff:808:808',
      '64:ff9b::808:808',
      '2002:808:808::1',
      '3fff:1000::1',
      '2000::1',
      '3ffe::1',
    ],
  };

  for (const [category, addresses] of Object.entries(cases)) {
    it(`classifies ${category} addresses`, () => {
      expect(Object.fromEntries(addresses.map((a) => [a, classifyAddress(a)]))).toEqual(Object.fromEntries(addresses.map((a) => [a, category])));
    });
  }

  it('answers undefined for anything that is not an IP address', () => {
    for (const text of [
      '',
      'localhost',
      'example.com',
      '1.2.3',
      '1.2.3.4.5',
      '256.0.0.1',
      '01.2.3.4',
      '0x7f.0.0.1',
      '2130706433',
      '::g',
      '1:2:3:4:5:6:7:8:9',
      '[127.0.0.1]',
      ' 127.0.0.1',
    ]) {
      expect(classifyAddress(text), text).toBeUndefined();
    }
  });

  it('names the IPv4 address an IPv4-mapped address stands for', () => {
    expect(mappedIpv4('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(mappedIpv4('::ffff:169.254.169.254')).toBe('169.254.169.254');
    expect(mappedIpv4('::1')).toBeUndefined();
    expect(mappedIpv4('127.0.0.1')).toBeUndefined();
  });
});

describe('the allow setting', () => {
  it('reads comma-separated categories, ignoring case, spaces and empty parts', () => {
    expect([...parseAllow('loopback')]).toEqual(['loopback']);
    expect([...parseAllow(' Private , link-local,,LOOPBACK ')].sort()).toEqual(['link-local', 'loopback', 'private']);
    expect(parseAllow('').size).toBe(0);
    expect(parseAllow(' , ').size).toBe(0);
  });

  it('refuses a category it does not know, naming it and the ones it knows', () => {
    expect(() => parseAllow('loopback,lopback')).toThrow(
      'JOBLINE_WEBHOOK_ALLOW names an unknown category "lopback": use loopback, private, link-local (comma-separated), or leave it empty for public addresses only',
    );
    // Unspecified, multicast and reserved addresses cannot be allowed at all.
    for (const never of ['public', 'unspecified', 'multicast', 'reserved', 'all', '*']) expect(() => parseAllow(never)).toThrow(`unknown category "${never}"`);
  });

  it('is public only by default, loopback by default under the local runtime, and an empty value means public only', () => {
    expect(allowFromEnv({}).size).toBe(0);
    expect([...allowFromEnv({ JOBLINE_LOCAL_RUNTIME: '1' })]).toEqual(['loopback']);
    expect(allowFromEnv({ JOBLINE_LOCAL_RUNTIME: '1', JOBLINE_WEBHOOK_ALLOW: '' }).size).toBe(0);
    expect([...allowFromEnv({ JOBLINE_LOCAL_RUNTIME: '1', JOBLINE_WEBHOOK_ALLOW: 'private' })]).toEqual(['private']);
    expect([...allowFromEnv({ JOBLINE_WEBHOOK_ALLOW: 'link-local' })]).toEqual(['link-local']);
    expect(allowFromEnv({ JOBLINE_LOCAL_RUNTIME: '0' }).size).toBe(0);
    expect(() => allowFromEnv({ JOBLINE_WEBHOOK_ALLOW: 'everything' })).toThrow('unknown category "everything"');
  });

  it('follows the variable when it changes', () => {
    const env: NodeJS.ProcessEnv = { JOBLINE_WEBHOOK_ALLOW: 'loopback' };
    expect([...allowFromEnv(env)]).toEqual(['loopback']);
    env.JOBLINE_WEBHOOK_ALLOW = 'private';
    expect([...allowFromEnv(env)]).toEqual(['private']);
  });
});

describe('checkTarget', () => {
  it('allows public addresses whatever the setting', () => {
    expect(checkTarget(['8.8.8.8', '2606:4700:4700::1111'], PUBLIC_ONLY)).toEqual({ allowed: true });
    expect(checkTarget([{ address: '1.1.1.1', family: 4 }], allowOf('loopback'))).toEqual({ allowed: true });
  });

  it.each([
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fd00::1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
  ] as const)('refuses %s (%s) unless its category is allowed', (address, category) => {
    expect(checkTarget([address], PUBLIC_ONLY)).toEqual({ allowed: false, address, category });
    const others = (['loopback', 'private', 'link-local'] as const).filter((c) => c !== category);
    expect(checkTarget([address], allowOf(...others))).toEqual({ allowed: false, address, category });
    expect(checkTarget([address], allowOf(category))).toEqual({ allowed: true });
  });

  it.each(['0.0.0.0', '::', '224.0.0.1', 'ff02::1', '255.255.255.255', '192.0.2.1', '2001:db8::1', '::127.0.0.1'])('never allows %s, whatever the setting', (address) => {
    const decision = checkTarget([address], allowOf('loopback', 'private', 'link-local'));
    expect(decision.allowed).toBe(false);
  });

  it('refuses a target when any one of its addresses is refused, naming that address', () => {
    expect(checkTarget(['93.184.216.34', '10.0.0.7', '8.8.8.8'], PUBLIC_ONLY)).toEqual({ allowed: false, address: '10.0.0.7', category: 'private' });
    expect(checkTarget(['127.0.0.1', '169.254.169.254'], allowOf('loopback'))).toEqual({ allowed: false, address: '169.254.169.254', category: 'link-local' });
    expect(checkTarget(['127.0.0.1', '::1'], allowOf('loopback'))).toEqual({ allowed: true });
  });

  it('refuses no address at all, and anything that is not an address', () => {
    expect(checkTarget([], allowOf('loopback'))).toMatchObject({ allowed: false });
    expect(checkTarget(['localhost'], allowOf('loopback'))).toEqual({ allowed: false, address: 'localhost', category: 'not an IP address' });
  });

  it('says which JOBLINE_WEBHOOK_ALLOW value would permit a category, keeping what is already allowed', () => {
    expect(allowValueFor('loopback', PUBLIC_ONLY)).toBe('loopback');
    expect(allowValueFor('private', allowOf('loopback'))).toBe('loopback,private');
    expect(allowValueFor('link-local', allowOf('private', 'loopback'))).toBe('loopback,private,link-local');
    expect(allowValueFor('multicast', allowOf('loopback'))).toBeUndefined();
  });
});

describe('refusal reasons', () => {
  it('name the host, the address, its category and the setting that would permit it', () => {
    expect(refusalReason('hooks.internal', { allowed: false, address: '10.1.2.3', category: 'private' }, allowOf('loopback'))).toBe(
      'webhook target host hooks.internal resolves to 10.1.2.3, which is a private address: refused, nothing was sent (JOBLINE_WEBHOOK_ALLOW=loopback,private would permit it)',
    );
    expect(refusalReason('169.254.169.254', { allowed: false, address: '169.254.169.254', category: 'link-local' }, PUBLIC_ONLY)).toBe(
      'webhook target host 169.254.169.254 is a link-local address: refused, nothing was sent (JOBLINE_WEBHOOK_ALLOW=link-local would permit it)',
    );
    expect(refusalReason('::ffff:7f00:1', { allowed: false, address: '::ffff:7f00:1', category: 'loopback' }, PUBLIC_ONLY)).toBe(
      'webhook target host ::ffff:7f00:1 is a loopback address (IPv4-mapped 127.0.0.1): refused, nothing was sent (JOBLINE_WEBHOOK_ALLOW=loopback would permit it)',
    );
    expect(refusalReason('0.0.0.0', { allowed: false, address: '0.0.0.0', category: 'unspecified' }, allowOf('loopback'))).toBe(
      'webhook target host 0.0.0.0 is an unspecified address: refused, nothing was sent (no JOBLINE_WEBHOOK_ALLOW value permits unspecified addresses)',
    );
  });

  it('shorten a long host so the advice survives', () => {
    const reason = refusalReason(`${'a'.repeat(300)}.test`, { allowed: false, address: '127.0.0.1', category: 'loopback' }, PUBLIC_ONLY);
    expect(reason.length).toBeLessThan(300);
    expect(reason).toMatch(/\(JOBLINE_WEBHOOK_ALLOW=loopback would permit it\)$/);
  });
});

describe('checkHost (a URL host that is a literal address)', () => {
  const hostOf = (url: string) => new URL(url).hostname;

  it('decides the odd IPv4 forms WHATWG URL parsing normalises, and bracketed IPv6', () => {
    const refused = {
      'http://127.0.0.1/': ['127.0.0.1', 'loopback'],
      'http://2130706433/': ['127.0.0.1', 'loopback'],
      'http://0x7f.1/': ['127.0.0.1', 'loopback'],
      'http://0x7f000001/': ['127.0.0.1', 'loopback'],
      'http://017700000001/': ['127.0.0.1', 'loopback'],
      'http://127.1/': ['127.0.0.1', 'loopback'],
      'http://0/': ['0.0.0.0', 'unspecified'],
      'http://0xa9fea9fe/': ['169.254.169.254', 'link-local'],
      'http://169.254.43518/': ['169.254.169.254', 'link-local'],
      'http://[::1]:8080/': ['::1', 'loopback'],
      'http://[::ffff:127.0.0.1]/': ['::ffff:7f00:1', 'loopback'],
      'http://[0:0:0:0:0:ffff:a9fe:a9fe]/': ['::ffff:a9fe:a9fe', 'link-local'],
      'http://[fd00::1]/': ['fd00::1', 'private'],
      'http://[::]/': ['::', 'unspecified'],
      'https://10.0.0.1:8443/x': ['10.0.0.1', 'private'],
    };
    for (const [url, [address, category]] of Object.entries(refused)) {
      const error = checkHost(hostOf(url), PUBLIC_ONLY);
      expect(error, url).toBeInstanceOf(AddressRefusedError);
      expect(error!.refusal, url).toEqual({ allowed: false, address, category });
      expect(error!.message, url).toContain(`${article(category!)} ${category} address`);
    }
  });

  it('lets allowed and public literal addresses through, and leaves host names to the lookup', () => {
    expect(checkHost(hostOf('http://2130706433/'), allowOf('loopback'))).toBeUndefined();
    expect(checkHost(hostOf('http://[::1]/'), allowOf('loopback'))).toBeUndefined();
    expect(checkHost(hostOf('http://8.8.8.8/'), PUBLIC_ONLY)).toBeUndefined();
    expect(checkHost(hostOf('http://[2606:4700::1111]/'), PUBLIC_ONLY)).toBeUndefined();
    expect(checkHost(hostOf('http://localhost/'), PUBLIC_ONLY)).toBeUndefined();
    expect(checkHost(hostOf('http://hooks.example.com/'), PUBLIC_ONLY)).toBeUndefined();
  });
});

const article = (word: string) => (/^[aeiou]/.test(word) ? 'an' : 'a');

/** A resolver that answers from a table and records its questions. No DNS. */
function stubResolver(table: Record<string, ResolvedAddress[] | Error>): Resolver & { asked: [string, number][] } {
  const asked: [string, number][] = [];
  const resolve = async (hostname: string, family: 0 | 4 | 6) => {
    asked.push([hostname, family]);
    const answer = table[hostname];
    if (answer === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    if (answer instanceof Error) throw answer;
    return answer;
  };
  return Object.assign(resolve, { asked });
}

const v4 = (address: string): ResolvedAddress => ({ address, family: 4 });
const v6 = (address: string): ResolvedAddress => ({ address, family: 6 });

/** Calls a lookup function as a socket would, with `all` set or not. */
function lookupWith(lookup: ReturnType<typeof guardedLookup>, hostname: string, all: boolean, family = 0) {
  return new Promise<{ error: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number }>((resolve) => {
    lookup(hostname, { all, family }, (error, address, addressFamily) => resolve({ error, address, family: addressFamily }));
  });
}

describe('guardedLookup over a stub resolver', () => {
  const resolver = stubResolver({
    'public.test': [v4('93.184.216.34'), v6('2606:2800:220:1:248:1893:25c8:1946')],
    'loopback.test': [v4('127.0.0.1'), v6('::1')],
    'metadata.test': [v4('169.254.169.254')],
    'mixed.test': [v4('93.184.216.34'), v4('10.0.0.5')],
    'rebind.test': [v4('8.8.8.8'), v6('::ffff:127.0.0.1')],
    'nowhere.test': [],
    'broken.test': Object.assign(new Error('getaddrinfo EAI_AGAIN broken.test'), { code: 'EAI_AGAIN' }),
  });

  it('hands a socket every address of an allowed host, in both callback forms', async () => {
    const lookup = guardedLookup(PUBLIC_ONLY, resolver);
    expect(await lookupWith(lookup, 'public.test', true)).toEqual({
      error: null,
      address: [
        { address: '93.184.216.34', family: 4 },
        { address: '2606:2800:220:1:248:1893:25c8:1946', family: 6 },
      ],
      family: undefined,
    });
    expect(await lookupWith(lookup, 'public.test', false)).toEqual({ error: null, address: '93.184.216.34', family: 4 });
    expect(await lookupWith(guardedLookup(allowOf('loopback'), resolver), 'loopback.test', false)).toEqual({ error: null, address: '127.0.0.1', family: 4 });
  });

  it('passes the family the socket asks for to the resolver', async () => {
    resolver.asked.length = 0;
    await lookupWith(guardedLookup(PUBLIC_ONLY, resolver), 'public.test', true, 6);
    await lookupWith(guardedLookup(PUBLIC_ONLY, resolver), 'public.test', false, 4);
    expect(resolver.asked).toEqual([
      ['public.test', 6],
      ['public.test', 4],
    ]);
  });

  it.each([
    ['loopback.test', PUBLIC_ONLY, '127.0.0.1', 'loopback', 'JOBLINE_WEBHOOK_ALLOW=loopback would permit it'],
    ['metadata.test', allowOf('loopback', 'private'), '169.254.169.254', 'link-local', 'JOBLINE_WEBHOOK_ALLOW=loopback,private,link-local would permit it'],
    ['mixed.test', PUBLIC_ONLY, '10.0.0.5', 'private', 'JOBLINE_WEBHOOK_ALLOW=private would permit it'],
    ['rebind.test', PUBLIC_ONLY, '::ffff:127.0.0.1', 'loopback', 'JOBLINE_WEBHOOK_ALLOW=loopback would permit it'],
  ] as const)('refuses %s when one of its addresses is refused, with nothing to connect to', async (host, allow, address, category, advice) => {
    for (const all of [true, false]) {
      const { error, address: handed } = await lookupWith(guardedLookup(allow, resolver), host, all);
      expect(error).toBeInstanceOf(AddressRefusedError);
      expect((error as AddressRefusedError).refusal).toEqual({ allowed: false, address, category });
      expect(error!.message).toContain(`webhook target host ${host} resolves to ${address}, which is ${article(category)} ${category} address`);
      expect(error!.message).toContain(advice);
      expect(handed).toEqual(all ? [] : '');
    }
  });

  it('reports a host without addresses, and resolver failures, as lookup errors (not refusals)', async () => {
    const lookup = guardedLookup(allowOf('loopback'), resolver);
    const none = await lookupWith(lookup, 'nowhere.test', true);
    expect(none.error).not.toBeInstanceOf(AddressRefusedError);
    expect(none.error).toMatchObject({ code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND nowhere.test' });
    const broken = await lookupWith(lookup, 'broken.test', false);
    expect(broken.error).toMatchObject({ code: 'EAI_AGAIN' });
    const unknown = await lookupWith(lookup, 'unknown.test', false);
    expect(unknown.error).toMatchObject({ code: 'ENOTFOUND' });
  });

  it('asks the resolver at every lookup: the answer checked is the answer used', async () => {
    let answer: ResolvedAddress[] = [v4('8.8.8.8')];
    const changing: Resolver = async () => answer;
    const lookup = guardedLookup(PUBLIC_ONLY, changing);
    expect((await lookupWith(lookup, 'rebinding.test', false)).address).toBe('8.8.8.8');
    answer = [v4('127.0.0.1')];
    expect((await lookupWith(lookup, 'rebinding.test', false)).error).toBeInstanceOf(AddressRefusedError);
  });
});

describe('guardedLookup as the lookup of a real request (to 127.0.0.1 only)', () => {
  let server: Server;
  let port: number;
  let requests = 0;
  let connections = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests++;
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const resolver = stubResolver({ 'receiver.test': [v4('127.0.0.1')] });

  function get(allow: Allow) {
    return new Promise<{ status?: number; error?: Error }>((resolve) => {
      const req = request({ hostname: 'receiver.test', port, path: '/', agent: false, lookup: guardedLookup(allow, resolver) }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode }));
      });
      req.on('error', (error) => resolve({ error }));
      req.end();
    });
  }

  it('connects to the checked address when it is allowed', async () => {
    expect(await get(allowOf('loopback'))).toEqual({ status: 200 });
    expect(requests).toBe(1);
  });

  it('never opens a connection when it is refused', async () => {
    const before = { requests, connections };
    const { error } = await get(PUBLIC_ONLY);
    expect(error).toBeInstanceOf(AddressRefusedError);
    expect(error!.message).toBe(
      'webhook target host receiver.test resolves to 127.0.0.1, which is a loopback address: refused, nothing was sent (JOBLINE_WEBHOOK_ALLOW=loopback would permit it)',
    );
    // A later allowed request gets through, so the server was listening all along.
    expect(await get(allowOf('loopback'))).toEqual({ status: 200 });
    expect({ requests, connections }).toEqual({ requests: before.requests + 1, connections: before.connections + 1 });
  });
});
