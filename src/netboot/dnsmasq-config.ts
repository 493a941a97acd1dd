// dnsmasq configs that start the chain: firmware PXE → iPXE → the set's iPXE script over HTTP.
// A client whose DHCP request carries iPXE's user class ("iPXE", option 77) or iPXE's own
// encapsulated option 175 is already running iPXE and gets the script's URL as its boot file;
// any other PXE client gets iPXE itself over TFTP (undionly.kpxe for BIOS, ipxe.efi for x86-64
// UEFI, told apart by the client-arch option 93: 7 and 9 are x86-64 UEFI, RFC 4578) and, once
// iPXE runs and asks again, the script. Two variants: dnsmasq hands out the leases itself, or it
// is a proxy-DHCP server next to a DHCP server the site already runs, adding only boot
// information (dnsmasq's `dhcp-range=<net>,proxy`).
//
// A set with a UKI (ramboot.efi) adds UEFI HTTP Boot: firmware that boots over HTTP asks with
// vendor class (option 60) "HTTPClient:Arch:000NN:UNDI:003001" and takes only an offer that
// carries option 60 "HTTPClient" and a URL as the boot file (UEFI 2.5+, "HTTP Boot"; edk2's
// HttpBootDxe). It then loads ramboot.efi by HTTP GET, with no iPXE and no TFTP.
import { usageError } from '../errors.js';

export interface DnsmasqConfigInput {
  /** URL of the iPXE script, e.g. http://10.0.0.1/set/boot.ipxe. */
  scriptUrl: string;
  /** Directory served over TFTP (holds undionly.kpxe / ipxe.efi for non-iPXE firmware). */
  tftpRoot: string;
  /** Listen on this interface only (dnsmasq's bind-interfaces), else on every interface. */
  interface?: string;
  /** Hand out leases from this range: "START,END". */
  dhcpRange?: string;
  /** Proxy-DHCP: the subnet address of a network whose DHCP server hands out the leases. */
  proxySubnet?: string;
  /** Router (option 3) given with the leases. */
  router?: string;
  /** DNS server (option 6) given with the leases. */
  dns?: string;
  /** Write DHCP/TFTP logs to this file instead of syslog. */
  logFile?: string;
  /**
   * IPv6 on the interface: "START,END" of a /64 the interface has an address in. dnsmasq sends
   * router advertisements (enable-ra) with that prefix both autonomous (SLAAC, ip=auto6) and
   * managed (DHCPv6 leases from the range, ip=dhcp6).
   */
  ipv6Range?: string;
  /**
   * DHCPv6 only: the router advertisements carry the managed flag and the prefix on-link but not
   * autonomous, so a client's only global address is its DHCPv6 lease (as on networks that
   * account for every address).
   */
  dhcp6Only?: boolean;
  /** DNS server given by DHCPv6 (option 23). */
  dns6?: string;
  /** UEFI HTTP Boot: URL of the set's ramboot.efi, handed to "HTTPClient" firmware. */
  httpBootUrl?: string;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HINT_RANGE = 'give --dhcp-range START,END (e.g. 10.0.0.100,10.0.0.200) or --proxy SUBNET, not both';

function checkIpv4(what: string, value: string): string {
  if (!IPV4.test(value)) throw usageError(`${what} '${value}' is not an IPv4 address`, HINT_RANGE);
  return value;
}

/** dnsmasq reads a config line up to its end: a newline in a value would start a new option. */
function oneLine(what: string, value: string): string {
  if (/[\n\r\0]/.test(value) || value.trim() !== value || value === '') throw usageError(`${what} '${value}' is empty or has blanks at its ends or a line break`, 'give a plain value');
  return value;
}

function leaseLines(input: DnsmasqConfigInput): string[] {
  if ((input.dhcpRange === undefined) === (input.proxySubnet === undefined)) {
    throw usageError('dnsmasq needs either a lease range or a proxy-DHCP subnet', HINT_RANGE);
  }
  if (input.proxySubnet !== undefined) {
    return [
      '# Proxy-DHCP: the site DHCP server gives the address, dnsmasq only the boot information.',
      `dhcp-range=${checkIpv4('--proxy subnet', input.proxySubnet)},proxy`,
    ];
  }
  const [start = '', end = '', ...rest] = input.dhcpRange!.split(',');
  if (rest.length > 0 || end === '') throw usageError(`--dhcp-range '${input.dhcpRange}' is not START,END`, HINT_RANGE);
  const lines = [`dhcp-range=${checkIpv4('--dhcp-range start', start)},${checkIpv4('--dhcp-range end', end)},1h`];
  // Without option 3 dnsmasq would offer itself as the router; a lab network has none.
  lines.push(input.router ? `dhcp-option=option:router,${checkIpv4('--router', input.router)}` : 'dhcp-option=option:router');
  if (input.dns) lines.push(`dhcp-option=option:dns-server,${checkIpv4('--dns', input.dns)}`);
  return lines;
}

const IPV6 = /^[0-9A-Fa-f:]*:[0-9A-Fa-f:]*$/;

function ipv6Lines(input: DnsmasqConfigInput): string[] {
  if (input.ipv6Range === undefined) return [];
  const [start = '', end = '', ...rest] = input.ipv6Range.split(',');
  if (rest.length > 0 || !IPV6.test(start) || !IPV6.test(end)) {
    throw usageError(`--ipv6-range '${input.ipv6Range}' is not START,END of IPv6 addresses`, 'give e.g. fd77::100,fd77::1ff (a /64 the interface has an address in)');
  }
  // A range alone makes dnsmasq advertise the /64 managed and on-link only; `slaac` adds the
  // autonomous flag for SLAAC next to the leases.
  const lines = input.dhcp6Only
    ? ['# IPv6: router advertisements for the range\'s /64, managed (DHCPv6 leases only, no SLAAC).', 'enable-ra', `dhcp-range=${start},${end},64,1h`]
    : ['# IPv6: router advertisements for the range\'s /64, autonomous (SLAAC) and managed (DHCPv6).', 'enable-ra', `dhcp-range=${start},${end},slaac,64,1h`];
  if (input.dns6 !== undefined) {
    if (!IPV6.test(input.dns6)) throw usageError(`--dns6 '${input.dns6}' is not an IPv6 address`, 'give e.g. fd77::1');
    lines.push(`dhcp-option=option6:dns-server,[${input.dns6}]`);
  }
  return lines;
}

/**
 * UEFI HTTP Boot. The ram script's own DHCP (busybox udhcpc, vendor class "udhcp 1.35.0") gets
 * the same URL as its boot file: a relative rooturl= (what a signed UKI carries, README "UEFI
 * and Secure Boot") then resolves against the directory ramboot.efi came from.
 */
function httpBootLines(input: DnsmasqConfigInput): string[] {
  if (input.httpBootUrl === undefined) return [];
  const url = oneLine('--base-url', input.httpBootUrl);
  // The boot file goes in the BOOTP header's 128-byte file field.
  if (url.length > 127) throw usageError(`the HTTP Boot URL '${url}' is longer than the 127 bytes of DHCP's boot file field`, 'give a shorter --base-url');
  if (input.proxySubnet !== undefined) {
    // dnsmasq's proxy mode answers PXEClient requests only.
    return ['# UEFI HTTP Boot needs the site DHCP server: vendor class (option 60) "HTTPClient" and', `# boot file (option 67) ${url} for clients whose option 60 starts with HTTPClient.`];
  }
  return [
    '# UEFI HTTP Boot: the firmware sends vendor class (option 60) "HTTPClient:Arch:...", wants',
    '# "HTTPClient" back and a URL as the boot file. The ram script\'s udhcpc ("udhcp 1.35.0") gets',
    '# the URL too, so a relative rooturl= resolves against it.',
    'dhcp-vendorclass=set:httpboot,HTTPClient',
    'dhcp-vendorclass=set:udhcp,udhcp',
    'dhcp-option-force=tag:httpboot,60,HTTPClient',
    `dhcp-boot=tag:httpboot,${url}`,
    `dhcp-boot=tag:udhcp,${url}`,
  ];
}

function bootLines(input: DnsmasqConfigInput): string[] {
  const script = oneLine('--base-url', input.scriptUrl);
  const tag = [
    '# iPXE announces itself with user class "iPXE" (option 77) and its option 175.',
    'dhcp-userclass=set:ipxe,iPXE',
    'dhcp-match=set:ipxe,175',
    '# Client architecture (option 93, RFC 4578): 7 and 9 are x86-64 UEFI.',
    'dhcp-match=set:efi64,option:client-arch,7',
    'dhcp-match=set:efi64,option:client-arch,9',
  ];
  if (input.proxySubnet !== undefined) {
    // In proxy mode the PXE firmware asks for a boot service; dnsmasq appends ".0" to an x86PC
    // basename, hence undionly.0 (a copy of undionly.kpxe) and an EFI basename as the file.
    return [
      ...tag,
      'dhcp-no-override',
      `dhcp-boot=tag:ipxe,${script}`,
      'pxe-service=tag:!ipxe,x86PC,"ramboot: load iPXE",undionly',
      'pxe-service=tag:!ipxe,X86-64_EFI,"ramboot: load iPXE",ipxe.efi',
      ...httpBootLines(input),
    ];
  }
  // With HTTP Boot, the PXE lines must not match what httpBootLines answers.
  const notHttp = input.httpBootUrl === undefined ? '' : 'tag:!httpboot,tag:!udhcp,';
  return [
    ...tag,
    `dhcp-boot=${notHttp}tag:ipxe,${script}`,
    `dhcp-boot=${notHttp}tag:!ipxe,tag:efi64,ipxe.efi`,
    `dhcp-boot=${notHttp}tag:!ipxe,tag:!efi64,undionly.kpxe`,
    ...httpBootLines(input),
  ];
}

export function renderDnsmasqConfig(input: DnsmasqConfigInput): string {
  const lines = [
    '# ramboot: DHCP and TFTP for network boot (generated by ramboot config dnsmasq)',
    '# No DNS service: port=0 leaves port 53 to whatever resolver the site runs.',
    'port=0',
  ];
  if (input.interface) lines.push(`interface=${oneLine('--interface', input.interface)}`, 'bind-interfaces');
  lines.push(...leaseLines(input));
  lines.push(...ipv6Lines(input));
  lines.push('enable-tftp', `tftp-root=${oneLine('--tftp-root', input.tftpRoot)}`);
  lines.push(...bootLines(input));
  lines.push('log-dhcp');
  if (input.logFile) lines.push(`log-facility=${oneLine('log file', input.logFile)}`);
  return `${lines.join('\n')}\n`;
}
