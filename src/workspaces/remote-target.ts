/**
 * Where a repository URL leads, checked before git connects: a URL whose host
 * resolves to a loopback, private, link-local, CGNAT, unique-local, multicast or
 * otherwise special address (or an IPv6 form embedding an IPv4 one) is refused,
 * so a session cannot make the server fetch from the cloud metadata service or
 * an internal host. ALLOW_PRIVATE_GIT_HOSTS lists host names, addresses and
 * CIDRs that may be reached anyway. Redirects are not followed
 * (http.followRedirects=false in git-config-guard.ts), and for http(s) git is
 * pinned to the addresses checked here (http.curloptResolve), so a DNS answer
 * that changes between the check and the fetch changes nothing.
 */
import dns from 'node:dns/promises';
import net from 'node:net';
import { badRequest } from '../lib/errors.ts';
import { parseRepoUrl } from './validate.ts';

// Two lists: a BlockList matches IPv4 addresses against IPv6 rules through their mapped form, so
// one list holding ::ffff:0:0/96 would refuse every IPv4 address.
const PRIVATE_V4 = new net.BlockList();
const PRIVATE_V6 = new net.BlockList();
for (const [a, p] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15],
  ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) PRIVATE_V4.addSubnet(a, p, 'ipv4');
for (const [a, p] of [
  ['::', 96], ['::1', 128], ['::ffff:0:0', 96], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001:db8::', 32],
  ['2002::', 16], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) PRIVATE_V6.addSubnet(a, p, 'ipv6');

export function isPrivateAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 0) return true; // not an address: never trust it
  return family === 4 ? PRIVATE_V4.check(address, 'ipv4') : PRIVATE_V6.check(address, 'ipv6');
}

/** ALLOW_PRIVATE_GIT_HOSTS (and WEBHOOK_ALLOW_PRIVATE_HOSTS) entries: names compared case-insensitively, addresses and CIDRs by range. */
export class AllowList {
  readonly #names = new Set<string>();
  readonly #ranges = new net.BlockList();

  constructor(entries: readonly string[]) {
    for (const e of entries) {
      const [addr, bits] = e.split('/');
      const family = net.isIP(addr ?? '');
      if (family === 0) this.#names.add(e.toLowerCase());
      else if (bits === undefined) this.#ranges.addAddress(addr!, family === 4 ? 'ipv4' : 'ipv6');
      else this.#ranges.addSubnet(addr!, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
    }
  }

  host(name: string): boolean {
    return this.#names.has(name.toLowerCase());
  }

  address(a: string): boolean {
    const family = net.isIP(a);
    return family !== 0 && this.#ranges.check(a, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/** The host (brackets removed) and port of a remote URL in any form git takes. */
function hostOf(url: string): { host: string; port: number | undefined; scheme: string } | undefined {
  const parsed = parseRepoUrl(url);
  if (parsed.kind === 'file') return undefined;
  if (parsed.scheme === 'scp') return { host: /^(?:[^@]+@)?([^:]+):/.exec(url)![1]!, port: undefined, scheme: 'ssh' };
  const u = new URL(url);
  const defaults: Record<string, number> = { http: 80, https: 443, ssh: 22, git: 9418 };
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : defaults[parsed.scheme], scheme: parsed.scheme };
}

export type Resolve = (host: string) => Promise<string[]>;
export const systemResolve: Resolve = async (host) => (await dns.lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/**
 * Refuses (AppError 400 `repo_url_private`) a remote URL that reaches a private
 * address unless allowed; returns the git config entries that pin http(s) to
 * the addresses checked. file:// URLs are checked against ALLOWED_ROOTS elsewhere.
 */
export async function checkRemoteTarget(url: string, allowPrivateHosts: readonly string[] = [], resolve: Resolve = systemResolve): Promise<[string, string][]> {
  const target = hostOf(url);
  if (!target) return [];
  const allow = new AllowList(allowPrivateHosts);
  let addresses: string[];
  try {
    addresses = net.isIP(target.host) ? [target.host] : await resolve(target.host);
  } catch {
    throw badRequest('repo_host_unresolvable', 'the repository URL names a host that cannot be resolved');
  }
  if (addresses.length === 0) throw badRequest('repo_host_unresolvable', 'the repository URL names a host that cannot be resolved');
  if (!allow.host(target.host)) {
    const blocked = addresses.filter((a) => isPrivateAddress(a) && !allow.address(a));
    if (blocked.length > 0) {
      throw badRequest('repo_url_private', 'the repository URL leads to a loopback, private or link-local address; list the host in ALLOW_PRIVATE_GIT_HOSTS to allow it');
    }
  }
  if ((target.scheme !== 'http' && target.scheme !== 'https') || net.isIP(target.host)) return [];
  // curl's --resolve form: HOST:PORT:ADDR[,ADDR]; IPv6 addresses in brackets.
  const pinned = addresses.map((a) => (net.isIP(a) === 6 ? `[${a}]` : a)).join(',');
  return [['http.curloptResolve', `${target.host}:${target.port}:${pinned}`]];
}
