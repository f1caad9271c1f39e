/**
 * Which network addresses an outbound call (the webhook job) may reach. A job's URL comes from whoever
 * submits it, so without a guard a job could make the worker call loopback services, the private network
 * or the instance metadata service (169.254.169.254) on its behalf.
 *
 * Every address is put in a category; only `public` ones are reachable unless JOBLINE_WEBHOOK_ALLOW
 * (comma-separated: loopback, private, link-local) allows more. Unspecified, multicast and reserved
 * addresses are never reachable. Under jobline's local runtime (JOBLINE_LOCAL_RUNTIME=1) an unset
 * JOBLINE_WEBHOOK_ALLOW means `loopback`, so local receivers work; set it to an empty string for public only.
 *
 * The guard runs where the connection is made: `guardedLookup` is the `lookup` of the socket, so the
 * addresses it checks are the ones connected to (no window for DNS rebinding between a check and a second
 * resolution), and a literal IP host is checked with `checkHost` before any request is made.
 * Node builtins only: this is in the webhook worker's bundle.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';

export const WEBHOOK_ALLOW_ENV = 'JOBLINE_WEBHOOK_ALLOW';

/** The categories JOBLINE_WEBHOOK_ALLOW can open, in the order they are written. */
export const ALLOWABLE_CATEGORIES = ['loopback', 'private', 'link-local'] as const;
export type AllowableCategory = (typeof ALLOWABLE_CATEGORIES)[number];
/** Unspecified (0.0.0.0/8, ::), multicast and reserved addresses are never allowed. */
export type AddressCategory = 'public' | AllowableCategory | 'unspecified' | 'multicast' | 'reserved';
export type Allow = ReadonlySet<AllowableCategory>;

export const PUBLIC_ONLY: Allow = new Set();

// IPv4 ranges that are not public, as [first address, prefix length, category]. They do not overlap.
const V4_RANGES: readonly [string, number, Exclude<AddressCategory, 'public'>][] = [
  ['0.0.0.0', 8, 'unspecified'], // "this network"; connecting to 0.0.0.0 reaches the local host
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'private'], // carrier-grade NAT
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'], // includes the instance metadata service, 169.254.169.254
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'], // IETF protocol assignments
  ['192.0.2.0', 24, 'reserved'], // documentation (TEST-NET-1)
  ['192.88.99.0', 24, 'reserved'], // 6to4 relay anycast (deprecated)
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved'], // benchmarking
  ['198.51.100.0', 24, 'reserved'], // documentation (TEST-NET-2)
  ['203.0.113.0', 24, 'reserved'], // documentation (TEST-NET-3)
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'], // future use, and 255.255.255.255 (broadcast)
];

const V4_TABLE = V4_RANGES.map(([base, prefix, category]) => ({ base: ipv4ToNumber(base)!, mask: prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0, category }));

/** a.b.c.d (the only form node:net and URL parsing produce) as an unsigned 32-bit number. */
function ipv4ToNumber(address: string): number | undefined {
  if (isIP(address) !== 4) return undefined;
  const [a, b, c, d] = address.split('.').map(Number) as [number, number, number, number];
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

function numberToIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

function classifyV4(n: number): AddressCategory {
  for (const range of V4_TABLE) if ((n & range.mask) >>> 0 === range.base) return range.category;
  return 'public';
}

/** The eight 16-bit groups of an IPv6 address (zone id ignored), or undefined when it is not one. */
function ipv6Groups(address: string): number[] | undefined {
  const zone = address.indexOf('%');
  const text = zone === -1 ? address : address.slice(0, zone);
  if (isIP(text) !== 6) return undefined;
  let head = text;
  // A trailing dotted quad (::ffff:1.2.3.4) is the last two groups.
  const lastColon = head.lastIndexOf(':');
  if (head.includes('.', lastColon)) {
    const v4 = ipv4ToNumber(head.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    head = `${head.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const parseHalf = (half: string) => (half === '' ? [] : half.split(':').map((g) => parseInt(g, 16)));
  const gap = head.indexOf('::');
  let groups: number[];
  if (gap === -1) {
    groups = parseHalf(head);
  } else {
    const left = parseHalf(head.slice(0, gap));
    const right = parseHalf(head.slice(gap + 2));
    groups = [...left, ...new Array<number>(Math.max(0, 8 - left.length - right.length)).fill(0), ...right];
  }
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

const embeddedV4 = (high: number, low: number) => ((high << 16) | low) >>> 0;

/** A non-public category of an address that embeds an IPv4 one, or public when the embedded one is public. */
function classifyV6(g: number[]): AddressCategory {
  const [g0, g1, g2, g3, g4, g5, g6, g7] = g as [number, number, number, number, number, number, number, number];
  const zeroTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeroTo(8)) return 'unspecified';
  if (zeroTo(7) && g7 === 1) return 'loopback';
  // IPv4-mapped ::ffff:a.b.c.d (what a dual-stack socket connects to as a.b.c.d) and IPv4-translated ::ffff:0:a.b.c.d.
  if ((zeroTo(5) && g5 === 0xffff) || (zeroTo(4) && g4 === 0xffff && g5 === 0)) return classifyV4(embeddedV4(g6, g7));
  // IPv4-compatible ::a.b.c.d (deprecated) and the rest of ::/8.
  if (g0 === 0) return 'reserved';
  // NAT64 (64:ff9b::/96): a translator reaches the embedded IPv4 address. 64:ff9b:1::/48 is for local use.
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return classifyV4(embeddedV4(g6, g7));
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1) return 'private';
  // 6to4 (2002::/16): the embedded IPv4 address is the tunnel's other end.
  if (g0 === 0x2002) return classifyV4(embeddedV4(g1, g2));
  if (g0 === 0x2001 && g1 <= 0x01ff) return 'reserved'; // IETF protocol assignments (2001::/23): Teredo, ORCHID...
  if (g0 === 0x2001 && g1 === 0x0db8) return 'reserved'; // documentation
  if (g0 === 0x3fff && g1 <= 0x0fff) return 'reserved'; // documentation (3fff::/20)
  if ((g0 & 0xfe00) === 0xfc00) return 'private'; // unique local fc00::/7
  if ((g0 & 0xffc0) === 0xfe80) return 'link-local'; // fe80::/10
  if ((g0 & 0xffc0) === 0xfec0) return 'private'; // site-local fec0::/10 (deprecated)
  if ((g0 & 0xff00) === 0xff00) return 'multicast';
  // Global unicast is 2000::/3; everything else (100::/64 discard, unassigned space) is not a destination.
  return (g0 & 0xe000) === 0x2000 ? 'public' : 'reserved';
}

/** The category of an IP address (v4, or v6 with IPv4-mapped and other embedded forms), or undefined if it is not an IP address. */
export function classifyAddress(address: string): AddressCategory | undefined {
  const v4 = ipv4ToNumber(address);
  if (v4 !== undefined) return classifyV4(v4);
  const groups = ipv6Groups(address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address);
  return groups === undefined ? undefined : classifyV6(groups);
}

/** The IPv4 address an IPv4-mapped IPv6 address stands for (::ffff:7f00:1 is 127.0.0.1), else undefined. */
export function mappedIpv4(address: string): string | undefined {
  const g = ipv6Groups(address);
  if (!g || !g.slice(0, 5).every((x) => x === 0) || g[5] !== 0xffff) return undefined;
  return numberToIpv4(embeddedV4(g[6]!, g[7]!));
}

/** The categories named in a JOBLINE_WEBHOOK_ALLOW value. Throws on a name it does not know. */
export function parseAllow(value: string): Allow {
  const allow = new Set<AllowableCategory>();
  for (const part of value.split(',')) {
    const name = part.trim().toLowerCase();
    if (name === '') continue;
    if (!(ALLOWABLE_CATEGORIES as readonly string[]).includes(name)) {
      throw new Error(
        `${WEBHOOK_ALLOW_ENV} names an unknown category "${part.trim().slice(0, 40)}": use ${ALLOWABLE_CATEGORIES.join(', ')} (comma-separated), or leave it empty for public addresses only`,
      );
    }
    allow.add(name as AllowableCategory);
  }
  return allow;
}

const LOCAL_DEFAULT: Allow = new Set<AllowableCategory>(['loopback']);
let cachedAllow: { raw: string; allow: Allow } | undefined;

/**
 * What the environment allows: JOBLINE_WEBHOOK_ALLOW; when it is unset, `loopback` under the local
 * runtime (JOBLINE_LOCAL_RUNTIME=1) and public addresses only everywhere else. Read at every call, so
 * a change of the variable applies to the next call.
 */
export function allowFromEnv(env: NodeJS.ProcessEnv = process.env): Allow {
  const raw = env[WEBHOOK_ALLOW_ENV];
  if (raw === undefined) return env.JOBLINE_LOCAL_RUNTIME === '1' ? LOCAL_DEFAULT : PUBLIC_ONLY;
  if (cachedAllow?.raw !== raw) cachedAllow = { raw, allow: parseAllow(raw) };
  return cachedAllow.allow;
}

export interface ResolvedAddress {
  address: string;
  family: number;
}

export type TargetDecision = { allowed: true } | { allowed: false; address: string; category: AddressCategory | 'not an IP address' };

/**
 * Whether a target may be called at these addresses (all the addresses its host resolves to): refused as
 * soon as one of them is not public and its category is not allowed, so which address a connection ends
 * up using never matters. No address at all is refused too.
 */
export function checkTarget(addresses: readonly (string | ResolvedAddress)[], allow: Allow): TargetDecision {
  if (addresses.length === 0) return { allowed: false, address: '(none)', category: 'not an IP address' };
  for (const entry of addresses) {
    const address = typeof entry === 'string' ? entry : entry.address;
    const category = classifyAddress(address);
    if (category === undefined) return { allowed: false, address, category: 'not an IP address' };
    if (category !== 'public' && !(allow as ReadonlySet<string>).has(category)) return { allowed: false, address, category };
  }
  return { allowed: true };
}

/** The JOBLINE_WEBHOOK_ALLOW value that would let a refused category through, or undefined when none would. */
export function allowValueFor(category: string, allow: Allow): string | undefined {
  if (!(ALLOWABLE_CATEGORIES as readonly string[]).includes(category)) return undefined;
  return ALLOWABLE_CATEGORIES.filter((c) => c === category || allow.has(c)).join(',');
}

/** One line: the host, the refused address and its category, and the setting that would allow it. */
export function refusalReason(host: string, refusal: Extract<TargetDecision, { allowed: false }>, allow: Allow): string {
  const shownHost = host.length > 100 ? `${host.slice(0, 97)}...` : host;
  const mapped = mappedIpv4(refusal.address);
  const what =
    refusal.category === 'not an IP address'
      ? `resolved to ${refusal.address === '(none)' ? 'no address' : `"${refusal.address.slice(0, 60)}", which is not an IP address`}`
      : `${refusal.address === host ? 'is' : `resolves to ${refusal.address}, which is`} ${article(refusal.category)} ${refusal.category} address${mapped ? ` (IPv4-mapped ${mapped})` : ''}`;
  const value = allowValueFor(refusal.category, allow);
  const advice =
    value !== undefined
      ? `${WEBHOOK_ALLOW_ENV}=${value} would permit it`
      : `no ${WEBHOOK_ALLOW_ENV} value permits ${refusal.category === 'not an IP address' ? 'it' : `${refusal.category} addresses`}`;
  return `webhook target host ${shownHost} ${what}: refused, nothing was sent (${advice})`;
}

const article = (word: string) => (/^[aeiou]/.test(word) ? 'an' : 'a');

/** A target the guard refused: not retryable, nothing was sent. */
export class AddressRefusedError extends Error {
  override readonly name = 'AddressRefusedError';
  readonly code = 'EJOBLINE_ADDRESS_REFUSED';
  constructor(
    readonly host: string,
    readonly refusal: Extract<TargetDecision, { allowed: false }>,
    allow: Allow,
  ) {
    super(refusalReason(host, refusal, allow));
  }
}

/**
 * The guard for a URL's host before any connection: a literal IP address (v4, or v6 with or without
 * brackets) is decided here, since sockets do not look literal addresses up. Undefined for a host name,
 * which `guardedLookup` checks when it is resolved.
 */
export function checkHost(host: string, allow: Allow): AddressRefusedError | undefined {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIP(bare.split('%')[0]!) === 0) return undefined;
  const decision = checkTarget([bare], allow);
  return decision.allowed ? undefined : new AddressRefusedError(bare, decision, allow);
}

/** Resolves a host name to all its addresses. Tests pass a stub; the default asks the system resolver. */
export type Resolver = (hostname: string, family: 0 | 4 | 6) => Promise<readonly ResolvedAddress[]>;

export const systemResolver: Resolver = (hostname, family) => dnsLookup(hostname, { all: true, family });

/**
 * A `lookup` for sockets (http.request, net.connect) that resolves every address of the host, refuses the
 * connection with an AddressRefusedError when the guard refuses any of them, and otherwise hands the
 * socket exactly the addresses it checked.
 */
export function guardedLookup(allow: Allow, resolve: Resolver = systemResolver): LookupFunction {
  return (hostname, options, callback) => {
    const family = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 || options.family === 'IPv6' ? 6 : 0;
    let resolving: Promise<readonly ResolvedAddress[]>;
    try {
      resolving = resolve(hostname, family);
    } catch (error) {
      resolving = Promise.reject(error);
    }
    resolving.then(
      (addresses) => {
        let outcome: ResolvedAddress[] | Error;
        if (addresses.length === 0) {
          outcome = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
        } else {
          const decision = checkTarget(addresses, allow);
          outcome = decision.allowed ? addresses.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 })) : new AddressRefusedError(hostname, decision, allow);
        }
        // Outside the promise chain, so an exception in the socket's code is not turned into a rejection.
        process.nextTick(() => {
          if (outcome instanceof Error) callback(outcome, options.all ? [] : '', 0);
          else if (options.all) callback(null, outcome);
          else callback(null, outcome[0]!.address, outcome[0]!.family);
        });
      },
      (error: unknown) => process.nextTick(() => callback(error instanceof Error ? error : new Error(String(error)), options.all ? [] : '', 0)),
    );
  };
}
